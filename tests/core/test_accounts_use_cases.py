"""Registering, logging in and out, sessions, password changes and leaving, on in-memory fakes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus_core.domain.emails import normalise_email
from nexus_core.domain.rate_limits import AuthLimits, Limit
from nexus_core.domain.sessions import SessionPolicy
from nexus_core.errors import (
    Conflict,
    RuleRefused,
    TooManyAttempts,
    Unauthenticated,
    ValidationFailed,
)
from nexus_core.testing.fakes import (
    FakeClock,
    FakeContactFileReader,
    FakeHasher,
    FakeStore,
    FakeTokens,
)
from nexus_core.use_cases import accounts
from nexus_core.use_cases.context import Ports

EMAIL = "ana@example.com"
PASSWORD = "contraseña-segura"
OTHER_PASSWORD = "otra-contraseña-1"


@dataclass
class World:
    store: FakeStore = field(default_factory=FakeStore)
    clock: FakeClock = field(default_factory=FakeClock)
    policy: SessionPolicy = field(default_factory=SessionPolicy)
    limits: AuthLimits = field(default_factory=AuthLimits)

    @property
    def ports(self) -> Ports:
        return Ports(
            self.store,
            FakeHasher(),
            FakeTokens(),
            self.clock,
            FakeContactFileReader(),
            self.policy,
            self.limits,
        )

    def register(self, email: str = EMAIL, password: str = PASSWORD) -> accounts.LoggedIn:
        return accounts.register(self.ports, email=email, password=password, name="Ana")

    def login(self, email: str = EMAIL, password: str = PASSWORD, address: str = "") -> str:
        return accounts.login(
            self.ports, email=email, password=password, client_address=address
        ).token

    def auth(self, token: str | None) -> accounts.CurrentSession:
        """As a request does: identify, then record use when the lookup asks for it."""
        current = accounts.authenticate(self.ports, token)
        if current.needs_touch:
            accounts.keep_session_alive(self.ports, current)
        return current

    def alive(self, token: str) -> bool:
        try:
            self.auth(token)
        except Unauthenticated:
            return False
        return True


@pytest.fixture
def world() -> World:
    return World()


# --- register ------------------------------------------------------------------------------


def test_register_logs_in_with_a_normalised_email(world: World) -> None:
    logged_in = accounts.register(
        world.ports,
        email="  Ana@Example.COM ",
        password=PASSWORD,
        name=" Ana ",
        phone="600 111 222",
        company="",
    )
    user = logged_in.user
    assert (user.email, user.name, user.phone, user.company) == (
        EMAIL,
        "Ana",
        "+34600111222",
        None,
    )
    assert user.last_login == world.clock.now
    assert world.auth(logged_in.token).user.id == user.id
    assert logged_in.session.user_id == user.id


def test_register_stores_a_hash_never_the_password(world: World) -> None:
    user = world.register().user
    stored = world.store.state.users[user.id]
    assert PASSWORD not in stored.password_hash
    assert FakeHasher().verify(PASSWORD, stored.password_hash)


def test_register_stores_only_the_token_hash(world: World) -> None:
    token = world.register().token
    (session,) = world.store.state.sessions.values()
    assert session.token_hash != token
    assert token not in session.token_hash


def test_a_new_user_starts_with_the_contract_defaults(world: World) -> None:
    user = world.register().user
    prefs = user.preferences
    assert (prefs.language, prefs.timezone, prefs.theme, prefs.default_country) == (
        "es",
        "Europe/Madrid",
        "light",
        "ES",
    )
    assert prefs.send_rate_per_minute == 60
    assert (prefs.email_notifications, prefs.push_notifications, prefs.sms_notifications) == (
        True,
        True,
        False,
    )
    assert (prefs.profile_visible, prefs.analytics, prefs.data_sharing) == (True, True, False)
    creds = user.credentials
    assert creds.whatsapp_api_key is None
    assert creds.gmail_api_key is None
    assert creds.gemini_api_key is None
    assert creds.gemini_auto_reply_enabled is False


@pytest.mark.parametrize(
    "again", [EMAIL, "ANA@EXAMPLE.COM", "  Ana@Example.com\t", "\nana@example.com "]
)
def test_a_taken_email_is_a_conflict(world: World, again: str) -> None:
    world.register()
    with pytest.raises(Conflict) as caught:
        world.register(email=again, password=OTHER_PASSWORD)
    assert caught.value.code == "user.email_taken"
    assert len(world.store.state.users) == 1
    assert len(world.store.state.sessions) == 1


def test_invalid_registration_stores_nothing(world: World) -> None:
    with pytest.raises(ValidationFailed) as caught:
        accounts.register(world.ports, email="nope", password="short", name="")
    assert {e.field for e in caught.value.errors} == {"email", "password", "name"}
    assert world.store.state.users == {}
    assert world.store.state.sessions == {}


# --- login ---------------------------------------------------------------------------------


def test_login_gives_a_fresh_token_every_time(world: World) -> None:
    first = world.register().token
    tokens = [first] + [world.login() for _ in range(5)]
    assert len(set(tokens)) == len(tokens)
    sessions = [world.auth(t).session.id for t in tokens]
    assert len(set(sessions)) == len(sessions)
    assert all(world.auth(t).user.email == EMAIL for t in tokens)


@pytest.mark.parametrize("spelling", [EMAIL, " ANA@example.com ", "Ana@Example.Com"])
def test_login_compares_emails_normalised(world: World, spelling: str) -> None:
    world.register()
    assert world.auth(world.login(email=spelling)).user.email == EMAIL


def test_login_records_last_login(world: World) -> None:
    world.register()
    world.clock.advance(timedelta(hours=3))
    token = world.login()
    assert world.auth(token).user.last_login == world.clock.now


def _login_error(world: World, email: str, password: str) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as caught:
        world.login(email=email, password=password)
    return caught.value


def test_unknown_email_and_wrong_password_fail_alike(world: World) -> None:
    world.register()
    wrong_password = _login_error(world, EMAIL, OTHER_PASSWORD)
    unknown_email = _login_error(world, "nadie@example.com", PASSWORD)
    malformed_email = _login_error(world, "not an email", PASSWORD)
    assert wrong_password.code == "auth.invalid_credentials"
    for other in (unknown_email, malformed_email):
        assert type(other) is type(wrong_password)
        assert other.code == wrong_password.code
        assert dict(other.params) == dict(wrong_password.params)


def test_a_password_over_72_bytes_is_just_invalid_credentials(world: World) -> None:
    password = "p" * 72
    world.register(password=password)
    # bcrypt would have silently cut these to the registered password: they must not log in.
    for longer in (password + "x", password + "ñ", "€" * 30):
        assert _login_error(world, EMAIL, longer).code == "auth.invalid_credentials"
    assert world.alive(world.login(password=password))


_TEXT = st.text(max_size=90)


@settings(max_examples=60)
@given(email=st.one_of(st.just(EMAIL), st.just(" ANA@example.com"), _TEXT), password=_TEXT)
def test_login_either_succeeds_exactly_or_is_unauthenticated(email: str, password: str) -> None:
    world = World()
    world.register()
    try:
        same_email = normalise_email(email) == EMAIL
    except ValidationFailed:
        same_email = False
    try:
        token: str | None = world.login(email=email, password=password)
    except Unauthenticated as failure:
        token, code = None, failure.code
    if token is None:
        assert code == "auth.invalid_credentials"
        assert not (same_email and password == PASSWORD)
    else:
        assert same_email
        assert password == PASSWORD
        assert world.alive(token)


# --- lockout -------------------------------------------------------------------------------


def _fail(world: World, times: int, email: str = EMAIL) -> None:
    for _ in range(times):
        with pytest.raises(Unauthenticated):
            world.login(email=email, password=OTHER_PASSWORD)


def test_ten_failures_lock_the_email_even_for_the_right_password(world: World) -> None:
    world.register()
    _fail(world, 10)
    with pytest.raises(TooManyAttempts) as caught:
        world.login()
    assert caught.value.code == "auth.locked_out"
    assert 0 < caught.value.retry_after <= 15 * 60
    with pytest.raises(TooManyAttempts):
        world.login(password=OTHER_PASSWORD)


def test_nine_failures_do_not_lock_and_a_success_starts_the_count_again(world: World) -> None:
    world.register()
    _fail(world, 9)
    assert world.alive(world.login())
    _fail(world, 9)
    assert world.alive(world.login())


def test_the_lock_covers_every_spelling_of_the_email(world: World) -> None:
    world.register()
    _fail(world, 10, email=" ANA@Example.com ")
    with pytest.raises(TooManyAttempts):
        world.login(email=EMAIL)


def test_the_lock_is_per_email(world: World) -> None:
    world.register()
    world.register(email="eva@example.com")
    _fail(world, 10)
    assert world.alive(world.login(email="eva@example.com"))


def test_the_lock_lifts_when_the_window_passes(world: World) -> None:
    world.register()
    _fail(world, 10)
    world.clock.advance(timedelta(minutes=5))
    with pytest.raises(TooManyAttempts) as caught:
        world.login()
    assert caught.value.retry_after <= 10 * 60
    world.clock.advance(timedelta(minutes=10) - timedelta(seconds=1))
    with pytest.raises(TooManyAttempts) as caught:
        world.login()
    assert caught.value.retry_after == 1
    world.clock.advance(timedelta(seconds=1))
    assert world.alive(world.login())


def test_a_disabled_lockout_never_locks() -> None:
    world = World(limits=AuthLimits(failed_logins_per_email=Limit(0, timedelta(minutes=15))))
    world.register()
    _fail(world, 25)
    assert world.alive(world.login())


# --- per-address throttle ------------------------------------------------------------------


def _throttled_world(max_events: int = 3) -> World:
    limit = Limit(max_events, timedelta(minutes=1))
    return World(limits=AuthLimits(auth_requests_per_address=limit))


def test_auth_requests_per_address_are_limited() -> None:
    world = _throttled_world()
    world.register()  # counted under the default (empty) address
    for _ in range(3):
        world.login(address="203.0.113.9")
    with pytest.raises(TooManyAttempts) as caught:
        world.login(address="203.0.113.9")
    assert 1 <= caught.value.retry_after <= 60
    assert world.alive(world.login(address="198.51.100.1"))  # another address is unaffected
    world.clock.advance(timedelta(minutes=1))
    assert world.alive(world.login(address="203.0.113.9"))


def test_failed_logins_register_and_password_changes_all_count() -> None:
    world = _throttled_world()
    address = "203.0.113.9"
    logged_in = accounts.register(
        world.ports, email=EMAIL, password=PASSWORD, name="Ana", client_address=address
    )
    with pytest.raises(Unauthenticated):
        world.login(password=OTHER_PASSWORD, address=address)
    accounts.change_password(
        world.ports,
        world.auth(logged_in.token),
        current_password=PASSWORD,
        new_password=OTHER_PASSWORD,
        client_address=address,
    )
    with pytest.raises(TooManyAttempts):
        world.login(password=OTHER_PASSWORD, address=address)
    with pytest.raises(TooManyAttempts):
        accounts.register(
            world.ports,
            email="eva@example.com",
            password=PASSWORD,
            name="Eva",
            client_address=address,
        )
    assert world.store.state.users.keys() == {logged_in.user.id}


# --- logout and authenticate ---------------------------------------------------------------


def test_logout_revokes_only_that_session(world: World) -> None:
    first = world.register().token
    second = world.login()
    assert accounts.logout(world.ports, first) is None
    with pytest.raises(Unauthenticated):
        world.auth(first)
    assert world.alive(second)
    accounts.logout(world.ports, first)  # a second logout is harmless


@pytest.mark.parametrize("token", [None, "", "no-such-token"])
def test_logout_without_a_valid_token_is_fine(world: World, token: str | None) -> None:
    live = world.register().token
    accounts.logout(world.ports, token)
    assert world.alive(live)


@pytest.mark.parametrize("token", [None, "", "no-such-token"])
def test_authenticate_needs_a_known_token(world: World, token: str | None) -> None:
    world.register()
    with pytest.raises(Unauthenticated):
        world.auth(token)


_SHORT = SessionPolicy(
    idle=timedelta(minutes=10), absolute=timedelta(hours=1), touch_every=timedelta(minutes=1)
)


def test_an_idle_session_expires() -> None:
    world = World(policy=_SHORT)
    token = world.register().token
    world.clock.advance(timedelta(minutes=10) - timedelta(seconds=1))
    assert world.alive(token)
    world.clock.advance(timedelta(minutes=10))
    with pytest.raises(Unauthenticated) as caught:
        world.auth(token)
    assert caught.value.code == "auth.session_expired"
    with pytest.raises(Unauthenticated):
        world.auth(token)  # refused every time; the row waits for purge_expired


def test_authenticate_only_reads() -> None:
    world = World(policy=_SHORT)
    token = world.register().token
    before = world.store.state
    world.clock.advance(timedelta(minutes=5))
    current = accounts.authenticate(world.ports, token)
    assert current.needs_touch
    assert world.store.state is before  # nothing committed
    world.clock.advance(timedelta(hours=2))
    with pytest.raises(Unauthenticated):
        accounts.authenticate(world.ports, token)
    assert world.store.state is before


def test_use_keeps_a_session_alive_until_its_absolute_end() -> None:
    world = World(policy=_SHORT)
    token = world.register().token
    for _ in range(11):
        world.clock.advance(timedelta(minutes=5))
        assert world.alive(token)  # 55 minutes in, used every 5
    world.clock.advance(timedelta(minutes=5))
    with pytest.raises(Unauthenticated) as caught:
        world.auth(token)
    assert caught.value.code == "auth.session_expired"


def test_use_is_written_back_at_most_once_per_touch_every() -> None:
    world = World(policy=_SHORT)
    token = world.register().token
    session_id = world.auth(token).session.id
    login_time = world.clock.now
    world.clock.advance(timedelta(seconds=30))
    world.auth(token)
    assert world.store.state.sessions[session_id].last_seen_at == login_time
    world.clock.advance(timedelta(seconds=30))
    world.auth(token)
    assert world.store.state.sessions[session_id].last_seen_at == world.clock.now


# --- change password -----------------------------------------------------------------------


def test_change_password_revokes_every_other_session(world: World) -> None:
    current = world.register().token
    others = [world.login(), world.login()]
    accounts.change_password(
        world.ports, world.auth(current), current_password=PASSWORD, new_password=OTHER_PASSWORD
    )
    assert world.alive(current)
    assert not any(world.alive(t) for t in others)
    with pytest.raises(Unauthenticated):
        world.login(password=PASSWORD)
    assert world.alive(world.login(password=OTHER_PASSWORD))


def test_change_password_leaves_other_users_alone(world: World) -> None:
    current = world.register().token
    eva = world.register(email="eva@example.com").token
    accounts.change_password(
        world.ports, world.auth(current), current_password=PASSWORD, new_password=OTHER_PASSWORD
    )
    assert world.alive(eva)


@pytest.mark.parametrize("wrong", [OTHER_PASSWORD, "", PASSWORD + "x", "p" * 100])
def test_a_wrong_current_password_is_refused_and_changes_nothing(world: World, wrong: str) -> None:
    current = world.register().token
    other = world.login()
    with pytest.raises(RuleRefused) as caught:
        accounts.change_password(
            world.ports, world.auth(current), current_password=wrong, new_password=OTHER_PASSWORD
        )
    assert caught.value.code == "auth.wrong_password"
    assert caught.value.params["field"] == "current_password"
    assert world.alive(current)
    assert world.alive(other)
    assert world.alive(world.login(password=PASSWORD))


@pytest.mark.parametrize(
    ("new", "code"), [("short", "password.too_short"), ("n" * 73, "password.too_long")]
)
def test_an_unacceptable_new_password_is_a_validation_error(
    world: World, new: str, code: str
) -> None:
    current = world.register().token
    other = world.login()
    with pytest.raises(ValidationFailed) as caught:
        accounts.change_password(
            world.ports, world.auth(current), current_password=PASSWORD, new_password=new
        )
    assert [(e.field, e.code) for e in caught.value.errors] == [("new_password", code)]
    assert world.alive(other)
    assert world.alive(world.login(password=PASSWORD))


# --- delete account ------------------------------------------------------------------------


def test_delete_account_removes_the_user_and_every_session(world: World) -> None:
    first = world.register().token
    second = world.login()
    eva = world.register(email="eva@example.com")
    accounts.delete_account(world.ports, world.auth(first), password=PASSWORD)
    assert set(world.store.state.users) == {eva.user.id}
    assert {s.user_id for s in world.store.state.sessions.values()} == {eva.user.id}
    assert not world.alive(first)
    assert not world.alive(second)
    assert world.alive(eva.token)
    with pytest.raises(Unauthenticated):
        world.login()
    assert world.register().user.email == EMAIL  # the address is free again


@pytest.mark.parametrize("wrong", [OTHER_PASSWORD, "", "p" * 100])
def test_delete_account_with_a_wrong_password_is_refused(world: World, wrong: str) -> None:
    logged_in = world.register()
    with pytest.raises(RuleRefused) as caught:
        accounts.delete_account(world.ports, world.auth(logged_in.token), password=wrong)
    assert caught.value.code == "auth.wrong_password"
    assert caught.value.params["field"] == "password"
    assert logged_in.user.id in world.store.state.users
    assert world.alive(logged_in.token)
