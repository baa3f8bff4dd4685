"""Registering, logging in and out, recognising a session, changing the password, leaving."""

from __future__ import annotations

from dataclasses import dataclass

from nexus_core.domain.emails import normalise_email
from nexus_core.domain.passwords import check_new_password, password_length_problem
from nexus_core.domain.rate_limits import Limit, auth_address_key, failed_login_key
from nexus_core.domain.sessions import Session
from nexus_core.domain.users import User, validate_registration
from nexus_core.errors import (
    Conflict,
    RuleRefused,
    TooManyAttempts,
    Unauthenticated,
    ValidationFailed,
)
from nexus_core.use_cases.context import Ports


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


def throttle(ports: Ports, key: str, limit: Limit) -> None:
    """Count one request against ``limit``; raise ``TooManyAttempts`` once it is exceeded."""
    if not limit.enabled:
        return
    now = ports.clock()
    with ports.uow(write=True) as uow:
        counted = uow.rate_counters.hit(key, now, limit.window)
        uow.commit()
    if counted.count > limit.max_events:
        raise TooManyAttempts(counted.retry_after(now, limit))


def _throttle_auth(ports: Ports, client_address: str) -> None:
    throttle(ports, auth_address_key(client_address), ports.auth_limits.auth_requests_per_address)


def _start_session(ports: Ports, user_id: int) -> LoggedIn:
    """A brand-new token for the user; a client-chosen id is never adopted."""
    token = ports.tokens.new_token()
    now = ports.clock()
    with ports.uow(write=True) as uow:
        session = uow.sessions.add(user_id, ports.tokens.hash_token(token), now)
        uow.users.record_login(user_id, now)
        user = uow.users.get(user_id)
        uow.commit()
    if user is None:  # deleted between the password check and now
        raise Unauthenticated("auth.invalid_credentials")
    return LoggedIn(user, token, session)


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
    with ports.uow(write=True) as uow:
        user = uow.users.add(registration, password_hash, ports.clock())
        uow.commit()
    return _start_session(ports, user.id)


def login(ports: Ports, *, email: str, password: str, client_address: str = "") -> LoggedIn:
    """Check the credentials and open a new session.

    An unknown email and a wrong password fail alike (same error, a hash verified either way).
    Ten failures for one email within the window lock that email until the window passes.
    """
    _throttle_auth(ports, client_address)
    try:
        normalised = normalise_email(email)
    except ValidationFailed:
        normalised = None
    lockout = ports.auth_limits.failed_logins_per_email
    failures_key = failed_login_key(normalised or email.strip().lower())
    now = ports.clock()
    user = None
    with ports.uow() as uow:
        failures = uow.rate_counters.peek(failures_key)
        if normalised is not None:
            user = uow.users.get_by_email(normalised)
    if lockout.enabled and failures and failures.current(now, lockout) >= lockout.max_events:
        raise TooManyAttempts(failures.retry_after(now, lockout), "auth.locked_out")

    acceptable = password_length_problem(password) is None
    hash_to_check = user.password_hash if user is not None else ports.hasher.decoy_hash
    matches = ports.hasher.verify(password, hash_to_check) if acceptable else False
    if user is None or not matches:
        if not acceptable:
            ports.hasher.verify("x" * 8, ports.hasher.decoy_hash)  # keep the timing alike
        if lockout.enabled:
            with ports.uow(write=True) as uow:
                uow.rate_counters.hit(failures_key, now, lockout.window)
                uow.commit()
        raise Unauthenticated("auth.invalid_credentials")

    if failures is not None:
        with ports.uow(write=True) as uow:
            uow.rate_counters.clear(failures_key)
            uow.commit()
    return _start_session(ports, user.id)


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
    revoked. Use is written back at most once per ``touch_every``, so most calls only read."""
    if not token:
        raise Unauthenticated()
    token_hash = ports.tokens.hash_token(token)
    now = ports.clock()
    policy = ports.sessions
    with ports.uow() as uow:
        found = uow.sessions.find_with_user(token_hash)
    if found is None:
        raise Unauthenticated()
    session, user = found
    if session.expired(now, policy):
        with ports.uow(write=True) as uow:
            uow.sessions.revoke(session.id)
            uow.commit()
        raise Unauthenticated("auth.session_expired")
    if session.needs_touch(now, policy):
        with ports.uow(write=True) as uow:
            uow.sessions.touch(session.id, now)
            uow.commit()
    return CurrentSession(user, session)


def change_password(
    ports: Ports,
    current: CurrentSession,
    *,
    current_password: str,
    new_password: str,
    client_address: str = "",
) -> None:
    """Replace the password; every other session of the user is revoked.

    A wrong current password is ``RuleRefused`` (a 400: the client stays logged in).
    """
    _throttle_auth(ports, client_address)
    check_new_password(new_password, "new_password")
    _confirm_password(ports, current.user, current_password, "current_password")
    new_hash = ports.hasher.hash(new_password)
    with ports.uow(write=True) as uow:
        uow.users.set_password_hash(current.user.id, new_hash, ports.clock())
        uow.sessions.revoke_all_for_user(current.user.id, except_session_id=current.session.id)
        uow.commit()


def delete_account(ports: Ports, current: CurrentSession, *, password: str) -> None:
    """Remove the user and everything they own, sessions included."""
    _confirm_password(ports, current.user, password, "password")
    with ports.uow(write=True) as uow:
        uow.users.delete(current.user.id)
        uow.commit()


def _confirm_password(ports: Ports, user: User, password: str, field_name: str) -> None:
    acceptable = password_length_problem(password) is None
    if not (acceptable and ports.hasher.verify(password, user.password_hash)):
        raise RuleRefused("auth.wrong_password", field=field_name)
