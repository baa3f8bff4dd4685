"""Registering, logging in and out, recognising a session, changing the password, leaving."""

from __future__ import annotations

from dataclasses import dataclass

from nexus_core.domain.emails import normalise_email
from nexus_core.domain.passwords import check_new_password, password_length_problem
from nexus_core.domain.rate_limits import auth_address_key, failed_login_key
from nexus_core.domain.sessions import Session
from nexus_core.domain.users import User, validate_registration
from nexus_core.errors import (
    Conflict,
    RuleRefused,
    Unauthenticated,
    ValidationFailed,
)
from nexus_core.ports import UnitOfWork
from nexus_core.use_cases.context import Ports
from nexus_core.use_cases.throttling import throttle


@dataclass(frozen=True, slots=True)
class LoggedIn:
    """A user and the session token to hand to their client (never stored in clear)."""

    user: User
    token: str
    session: Session


@dataclass(frozen=True, slots=True)
class CurrentSession:
    user: User
    session: Session
    needs_touch: bool = False


def _throttle_auth(ports: Ports, client_address: str) -> None:
    throttle(ports, ports.auth_limits.auth_requests_per_address, auth_address_key(client_address))


def _start_session(uow: UnitOfWork, ports: Ports, user_id: int) -> tuple[str, Session]:
    """A brand-new token for the user, in the caller's unit of work; a client-chosen id is
    never adopted."""
    token = ports.tokens.new_token()
    now = ports.clock()
    session = uow.sessions.add(user_id, ports.tokens.hash_token(token), now)
    uow.users.record_login(user_id, now)
    return token, session


def register(
    ports: Ports,
    *,
    email: str,
    password: str,
    name: str,
    phone: str | None = None,
    company: str | None = None,
    client_address: str = "",
) -> LoggedIn:
    """Create an account and log it in. A taken email is ``Conflict("user.email_taken")``."""
    _throttle_auth(ports, client_address)
    registration = validate_registration(email, password, name, phone, company)
    with ports.uow() as uow:
        if uow.users.get_by_email(registration.email) is not None:
            raise Conflict("user.email_taken")
    password_hash = ports.hasher.hash(password)  # slow on purpose: outside any transaction
    with ports.uow(write=True) as uow:  # the account and its first session, or neither
        created = uow.users.add(registration, password_hash, ports.clock())
        token, session = _start_session(uow, ports, created.id)
        user = uow.users.get(created.id)
        uow.commit()
    assert user is not None
    return LoggedIn(user, token, session)


def _count_password_attempt(ports: Ports, email: str) -> None:
    """Count an attempt at one account's password *before* checking it, so that parallel
    guesses cannot slip past the lockout; a correct password clears the count."""
    lockout = ports.auth_limits.failed_logins_per_email
    throttle(ports, lockout, failed_login_key(email), code="auth.locked_out")


def _forget_password_attempts(ports: Ports, email: str) -> None:
    if ports.auth_limits.failed_logins_per_email.enabled:
        with ports.uow(write=True) as uow:
            uow.rate_counters.clear(failed_login_key(email))
            uow.commit()


def login(ports: Ports, *, email: str, password: str, client_address: str = "") -> LoggedIn:
    """Check the credentials and open a new session.

    An unknown email and a wrong password fail alike (same error, a hash verified either way).
    Ten failed attempts for one email within the window lock that email until the window
    passes, whatever the password.
    """
    _throttle_auth(ports, client_address)
    try:
        normalised: str | None = normalise_email(email)
    except ValidationFailed:
        normalised = None  # no account can have it; still counted and "checked" below
    attempts_key = normalised or email.strip().lower()
    _count_password_attempt(ports, attempts_key)
    user = None
    if normalised is not None:
        with ports.uow() as uow:
            user = uow.users.get_by_email(normalised)

    acceptable = password_length_problem(password) is None
    hash_to_check = user.password_hash if user is not None else ports.hasher.decoy_hash
    # A password bcrypt would refuse is checked as a dummy one: the answer takes as long.
    matches = ports.hasher.verify(password if acceptable else "x" * 8, hash_to_check)
    if user is None or not matches or not acceptable:
        raise Unauthenticated("auth.invalid_credentials")

    _forget_password_attempts(ports, attempts_key)
    with ports.uow(write=True) as uow:
        if uow.users.get_for_update(user.id) is None:  # deleted since the password check
            raise Unauthenticated("auth.invalid_credentials")
        token, session = _start_session(uow, ports, user.id)
        fresh = uow.users.get(user.id)
        uow.commit()
    assert fresh is not None
    return LoggedIn(fresh, token, session)


def logout(ports: Ports, token: str | None) -> None:
    """Revoke the session behind ``token``; without one (or with an unknown one), do nothing."""
    if not token:
        return
    with ports.uow(write=True) as uow:
        found = uow.sessions.find_with_user(ports.tokens.hash_token(token))
        if found is not None:
            uow.sessions.revoke(found[0].id)
            uow.commit()


def authenticate(ports: Ports, token: str | None) -> CurrentSession:
    """The user behind a session token, or ``Unauthenticated`` when it is missing, expired or
    revoked. Only reads: an expired session simply stops working (``purge_expired`` removes
    it later), and recording use is ``keep_session_alive``'s job when ``needs_touch`` says so.
    """
    if not token:
        raise Unauthenticated()
    with ports.uow() as uow:
        found = uow.sessions.find_with_user(ports.tokens.hash_token(token))
    if found is None:
        raise Unauthenticated()
    session, user = found
    now = ports.clock()
    if session.expired(now, ports.sessions):
        raise Unauthenticated("auth.session_expired")
    return CurrentSession(user, session, session.needs_touch(now, ports.sessions))


def keep_session_alive(ports: Ports, current: CurrentSession) -> None:
    """Record that the session was used now (pushes its idle expiry back)."""
    with ports.uow(write=True) as uow:
        uow.sessions.touch(current.session.id, ports.clock())
        uow.commit()


def change_password(
    ports: Ports,
    current: CurrentSession,
    *,
    current_password: str,
    new_password: str,
    client_address: str = "",
) -> None:
    """Replace the password; every other session of the user is revoked.

    A wrong current password is ``RuleRefused`` (a 400: the client stays logged in); such
    failures count towards the account's lockout like failed logins.
    """
    _throttle_auth(ports, client_address)
    check_new_password(new_password, "new_password")
    _confirm_password(ports, current.user, current_password, "current_password")
    new_hash = ports.hasher.hash(new_password)
    with ports.uow(write=True) as uow:
        uow.users.set_password_hash(current.user.id, new_hash, ports.clock())
        uow.sessions.revoke_all_for_user(current.user.id, except_session_id=current.session.id)
        uow.commit()


def delete_account(
    ports: Ports, current: CurrentSession, *, password: str, client_address: str = ""
) -> None:
    """Remove the user and everything they own, sessions included."""
    _throttle_auth(ports, client_address)
    _confirm_password(ports, current.user, password, "password")
    with ports.uow(write=True) as uow:
        uow.users.delete(current.user.id)
        uow.rate_counters.clear(failed_login_key(current.user.email))
        uow.commit()


def _confirm_password(ports: Ports, user: User, password: str, field_name: str) -> None:
    _count_password_attempt(ports, user.email)
    acceptable = password_length_problem(password) is None
    if not (acceptable and ports.hasher.verify(password, user.password_hash)):
        raise RuleRefused("auth.wrong_password", field=field_name)
    _forget_password_attempts(ports, user.email)
