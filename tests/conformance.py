"""The repository conformance suite: a Hypothesis state machine that any implementation of the
repository ports (``nexus_core.ports``) must pass.

It drives a ``UnitOfWorkFactory`` through random sequences of operations on users, sessions,
rate counters, contacts (single writes, uniqueness, the list's filters, sorts and pages, the
stats, the export stream, bulk imports) and import records, keeps a plain model (dicts) of what
must be stored, and checks every answer against it. The in-memory fakes and the SQL adapters
(SQLite and PostgreSQL) both run it.

This module imports only the standard library, Hypothesis and ``nexus_core``, so it runs in the
core-only environment too. Use it with::

    run_repository_conformance(make_store, count_rows=..., settings=settings(...))

``make_store`` is called once per Hypothesis example and must return a factory over an EMPTY
store. ``count_rows`` (optional) counts what the store holds, by means outside the ports; without
it, the invariant compares every user, session and counter the machine knows of, through the
ports.

The suite writes only through ``write=True`` units of work (a reader must only read, says the
port). Beyond the port docstrings, it holds an implementation to this:

- work done after ``commit()`` in the same unit of work is dropped when it ends;
- ``add`` refusing a taken email leaves the unit of work usable, and changes nothing;
- ``save``, ``record_login``, ``set_password_hash``, ``delete``, ``touch`` and ``revoke``
  addressed to a user or session that no longer exists do nothing;
- a contact ``add`` or ``save`` refused for a taken phone or email leaves the unit of work
  usable, and changes nothing;
- ids are never reused, and every value (times included) reads back equal and of the same type;
  times are timezone-aware UTC.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import string
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypeVar

import hypothesis
from hypothesis import HealthCheck
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from nexus_core.domain.api_keys import API_KEY_MAX, MASK_PREFIX
from nexus_core.domain.contact_import_plan import plan_import
from nexus_core.domain.contact_imports import ImportedRow, OnDuplicate
from nexus_core.domain.contact_queries import CONTACT_SORTS, ContactQuery, search_key
from nexus_core.domain.contact_records import (
    CONTACT_SOURCES,
    Contact,
    ContactSource,
    ContactStats,
    recent_since,
    revised,
)
from nexus_core.domain.contacts import CONTACT_STATUSES, ContactDraft
from nexus_core.domain.dashboard import last_days
from nexus_core.domain.import_history import IMPORT_STATUSES, ImportCounts, ImportedFile
from nexus_core.domain.preferences import LANGUAGES, SEND_RATE_MAX, SEND_RATE_MIN, THEMES
from nexus_core.domain.rate_limits import WindowCount
from nexus_core.domain.sessions import Session
from nexus_core.domain.text import COMPANY_MAX, KNOWLEDGE_BASE_MAX, NAME_MAX
from nexus_core.domain.users import (
    Credentials,
    Preferences,
    Registration,
    User,
    apply_profile_changes,
)
from nexus_core.errors import Conflict
from nexus_core.ports import UnitOfWork, UnitOfWorkFactory

F = TypeVar("F", bound=UnitOfWorkFactory)


class RowCounts(NamedTuple):
    users: int
    sessions: int
    rate_counters: int
    contacts: int
    imports: int


# Whole seconds only: both databases keep microseconds, but round values keep mismatches real.
START = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
# An id and a token hash no implementation ever hands out in one example.
UNKNOWN_ID = 2**31 - 1
UNKNOWN_TOKEN_HASH = hashlib.sha256(b"no such token").hexdigest()

EMAILS = (
    "ana@example.com",
    "bob@example.com",
    "carla.núñez@ejemplo.es",
    "dan+news@example.net",
    "zoë@例え.jp",
)
PHONES = ("+34612345678", "+34911234567", "+14155552671", "+447911123456", "+525512345678")
TIMEZONES = ("Europe/Madrid", "America/Mexico_City", "America/Argentina/Buenos_Aires", "UTC")
COUNTRIES = ("ES", "es", "MX", "US", "co")
RATE_KEYS = ("login-failures:ana@example.com", "auth-requests:203.0.113.7", "auth-requests:::1")
WINDOWS = (timedelta(minutes=1), timedelta(minutes=15))
# Clock steps that land on the windows' edges (and ages, for purge_expired).
SECONDS = (0, 1, 59, 60, 61, 899, 900, 901, 3600, 7 * 86400)

# NUL and other control characters are left out on purpose: PostgreSQL refuses NUL in text.
_CHARACTERS = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"))
# Characters of 1 to 4 bytes in UTF-8, repeated up to a column's limit.
_FILLERS = ("a", "ñ", "€", "😀")


def _text(max_size: int, *, newlines: bool = False) -> st.SearchStrategy[str]:
    """Short text of any characters, or long text of one repeated: cheap to shrink, and it
    reaches each column's limit."""
    alphabet = (_CHARACTERS | st.sampled_from("\n\t")) if newlines else _CHARACTERS
    varied = st.text(alphabet, max_size=min(max_size, 12))
    long = st.builds(str.__mul__, st.sampled_from(_FILLERS), st.integers(1, max_size))
    return varied | long


def _clean(max_size: int) -> st.SearchStrategy[str]:
    """Text as validation leaves it: trimmed and not blank."""
    return _text(max_size).map(str.strip).filter(bool)


_PASSWORD_HASHES = st.text(string.ascii_letters + string.digits + "./$", min_size=1, max_size=60)
_API_KEYS = st.one_of(
    st.none(),
    st.just(""),  # clears the key
    st.just(MASK_PREFIX + "7f3a"),  # keeps the current key
    st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=40),
    _clean(API_KEY_MAX),
)
# Raw values, as a client would send them; apply_profile_changes validates and cleans them.
PROFILE_CHANGES: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {},
    optional={
        "name": _clean(NAME_MAX).map(lambda name: f" {name} "),
        "company": st.none() | st.just("") | _clean(COMPANY_MAX),
        "phone": st.none() | st.just("") | st.sampled_from(PHONES),
        "email_notifications": st.booleans(),
        "push_notifications": st.booleans(),
        "sms_notifications": st.booleans(),
        "profile_visible": st.booleans(),
        "data_sharing": st.booleans(),
        "analytics": st.booleans(),
        "language": st.sampled_from(LANGUAGES),
        "timezone": st.sampled_from(TIMEZONES),
        "theme": st.sampled_from(THEMES),
        "default_country": st.sampled_from(COUNTRIES),
        "send_rate_per_minute": st.integers(SEND_RATE_MIN, SEND_RATE_MAX),
        "whatsapp_api_key": _API_KEYS,
        "whatsapp_phone_number_id": st.none() | _clean(200),
        "gmail_api_key": _API_KEYS,
        "gmail_address": st.none() | st.just("") | st.sampled_from(EMAILS),
        "gemini_api_key": _API_KEYS,
        "gemini_auto_reply_enabled": st.booleans(),
        "gemini_knowledge_base": st.none() | _text(KNOWLEDGE_BASE_MAX, newlines=True),
    },
)
REGISTRATION_FIELDS = st.tuples(
    _clean(NAME_MAX), st.none() | st.sampled_from(PHONES), st.none() | _clean(COMPANY_MAX)
)

# Contacts: few phones and emails, so that they clash; names that fold alike, and any others.
CONTACT_NAMES = (
    "Ana García",
    "ana garcia",
    "ÁNGELA Núñez",
    "Zoë O'Brien",
    "Jürgen Straße",
    "100% Tapas_Bar",
    'Dice "hola"',
)
CONTACT_PHONES = PHONES[:4]
CONTACT_EMAILS = EMAILS[:4]
TAGS = ("vip", "cliente", "a b", "100%", "x_y", "ñandú")
_TAG_SETS = st.lists(st.sampled_from(TAGS), max_size=3, unique=True).map(tuple)
CONTACT_DRAFTS = st.builds(
    ContactDraft,
    name=st.sampled_from(CONTACT_NAMES) | _clean(NAME_MAX),
    phone=st.none() | st.sampled_from(CONTACT_PHONES),
    email=st.none() | st.sampled_from(CONTACT_EMAILS),
    status=st.sampled_from(CONTACT_STATUSES),
    tags=_TAG_SETS,
    notes=st.none() | _clean(5000),
    opted_out=st.booleans(),
).filter(lambda draft: draft.phone is not None or draft.email is not None)
# Which cells of an imported row were written (name always is, and a phone or an email).
_GIVEN = st.sets(st.sampled_from(["status", "tags", "notes", "opted_out"]))


def _show(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 200 else f"{shown[:160]}…({len(shown)} characters)"


def _differences(actual: Any, expected: Any, path: str = "") -> list[str]:
    """Where ``actual`` and ``expected`` differ, value or type; times must be aware UTC."""
    where = path or "value"
    if type(actual) is not type(expected):
        return [f"{where}: {_show(actual)} ({type(actual).__name__}) != {_show(expected)}"]
    if isinstance(actual, tuple):
        if len(actual) != len(expected):
            return [f"{where}: {_show(actual)} != {_show(expected)}"]
        return [
            problem
            for index in range(len(actual))
            for problem in _differences(actual[index], expected[index], f"{path}[{index}]")
        ]
    if dataclasses.is_dataclass(actual):
        return [
            problem
            for name in _field_names(type(actual))
            for problem in _differences(
                getattr(actual, name), getattr(expected, name), f"{path}.{name}"
            )
        ]
    if isinstance(actual, datetime) and actual.utcoffset() != timedelta(0):
        return [f"{where}: {actual!r} is not timezone-aware UTC"]
    if actual != expected:
        return [f"{where}: {_show(actual)} != {_show(expected)}"]
    return []


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(cls))


def assert_same(actual: Any, expected: Any, what: str) -> None:
    problems = _differences(actual, expected)
    assert not problems, f"{what}: " + "; ".join(problems)


class _RepositoryMachine(RuleBasedStateMachine):
    """The rules; ``repository_conformance_machine`` binds them to a store builder."""

    make_store: Callable[[], UnitOfWorkFactory]
    count_rows: Callable[[Any], RowCounts] | None

    def __init__(self) -> None:
        super().__init__()
        self.store = type(self).make_store()
        self.now = START
        # The model: what the store must hold.
        self.users: dict[str, User] = {}  # by email
        self.sessions: dict[str, Session] = {}  # by token hash
        self.counters: dict[str, WindowCount] = {}
        # Everything ever handed out, to ask about what is gone.
        self.user_ids: list[int] = []
        self.session_ids: list[int] = []
        self.token_hashes: list[str] = []
        self.tokens_made = 0
        self.contacts: dict[int, Contact] = {}  # by id
        self.contact_ids: list[int] = []
        self.imports: dict[int, ImportedFile] = {}  # by id

    # -- the model ----------------------------------------------------------------------------

    def user_by_id(self, user_id: int) -> User | None:
        return next((user for user in self.users.values() if user.id == user_id), None)

    def session_by_id(self, session_id: int) -> Session | None:
        return next((s for s in self.sessions.values() if s.id == session_id), None)

    def new_token_hash(self) -> str:
        self.tokens_made += 1
        return hashlib.sha256(f"token {self.tokens_made}".encode()).hexdigest()

    def replace_user(self, user: User) -> None:
        self.users[user.email] = user

    def drop_user(self, user_id: int) -> None:
        user = self.user_by_id(user_id)
        if user is not None:
            del self.users[user.email]
            self.sessions = {h: s for h, s in self.sessions.items() if s.user_id != user_id}
            self.contacts = {i: c for i, c in self.contacts.items() if c.user_id != user_id}
            self.imports = {i: r for i, r in self.imports.items() if r.user_id != user_id}

    def expected_count(self, key: str, window: timedelta) -> WindowCount:
        current = self.counters.get(key)
        if current is None or self.now - current.window_started_at >= window:
            return WindowCount(1, self.now)
        return WindowCount(current.count + 1, current.window_started_at)

    def model_counts(self) -> RowCounts:
        return RowCounts(
            len(self.users),
            len(self.sessions),
            len(self.counters),
            len(self.contacts),
            len(self.imports),
        )

    def contacts_of(self, user_id: int) -> list[Contact]:
        return [contact for contact in self.contacts.values() if contact.user_id == user_id]

    def expected_conflict(self, user_id: int, draft: ContactDraft, contact_id: int = 0) -> set[str]:
        """The codes a write of ``draft`` may be refused with (either one when both clash)."""
        others = [c for c in self.contacts_of(user_id) if c.id != contact_id]
        codes = set()
        if draft.phone is not None and any(c.phone == draft.phone for c in others):
            codes.add("contact.phone_taken")
        if draft.email is not None and any(c.email == draft.email for c in others):
            codes.add("contact.email_taken")
        return codes

    def expected_page(self, user_id: int, query: ContactQuery) -> tuple[list[Contact], int]:
        """The list's rules, said plainly."""

        def matches(contact: Contact) -> bool:
            if query.status is not None and contact.status != query.status:
                return False
            if any(tag not in contact.tags for tag in query.tags):
                return False
            needle, digits = query.search_key, query.search_digits
            return needle is None or (
                needle in search_key(contact.name)
                or needle in (contact.email or "")
                or (digits is not None and digits in (contact.phone or ""))
            )

        def order(contact: Contact) -> tuple[Any, int]:
            key = search_key(contact.name) if query.sort.endswith("name") else contact.created_at
            return key, contact.id

        found = sorted(
            filter(matches, self.contacts_of(user_id)),
            key=order,
            reverse=query.sort.startswith("-"),
        )
        return found[query.offset : query.offset + query.per_page], len(found)

    # -- drawing from what exists (or existed) ------------------------------------------------

    def any_user_id(self, data: st.DataObject) -> int:
        """A live user's id (half the time, when there are some), a deleted user's, or one
        never handed out."""
        anyone = st.sampled_from([*self.user_ids, UNKNOWN_ID])
        live = [user.id for user in self.users.values()]
        return data.draw((st.sampled_from(live) | anyone) if live else anyone, label="user_id")

    def live_user(self, data: st.DataObject) -> User:
        return data.draw(st.sampled_from(list(self.users.values())), label="user")

    def any_session_id(self, data: st.DataObject) -> int:
        """A live session's id (half the time, when there are some), a revoked one's, or one
        never handed out."""
        anyone = st.sampled_from([*self.session_ids, UNKNOWN_ID])
        live = [session.id for session in self.sessions.values()]
        return data.draw((st.sampled_from(live) | anyone) if live else anyone, label="session_id")

    def wait(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    def check_user(self, user_id: int) -> None:
        """Read one user back, by id, in a unit of work of its own."""
        with self.store() as uow:
            assert_same(uow.users.get(user_id), self.user_by_id(user_id), f"get({user_id})")

    # -- checks -------------------------------------------------------------------------------

    def check_all_agree(self, uow: UnitOfWork) -> None:
        """Everything the machine knows of reads back as the model says, through the ports."""
        for user_id in [*self.user_ids, UNKNOWN_ID]:
            assert_same(uow.users.get(user_id), self.user_by_id(user_id), f"get({user_id})")
        for email in EMAILS:
            assert_same(uow.users.get_by_email(email), self.users.get(email), email)
        for token_hash in [*self.token_hashes, UNKNOWN_TOKEN_HASH]:
            self.check_find(uow, token_hash)
        for key in RATE_KEYS:
            assert_same(uow.rate_counters.peek(key), self.counters.get(key), f"peek({key})")
        for user in self.users.values():
            everything = ContactQuery(per_page=100)
            got, total = uow.contacts.page(user.id, everything)
            expected, expected_total = self.expected_page(user.id, everything)
            assert_same(tuple(got), tuple(expected), f"contacts of {user.id}")
            assert total == expected_total, f"{total} contacts of {user.id}, not {expected_total}"
        for import_id, record in self.imports.items():
            assert_same(uow.imports.get(record.user_id, import_id), record, f"import {import_id}")

    def check_find(self, uow: UnitOfWork, token_hash: str) -> None:
        session = self.sessions.get(token_hash)
        expected = None
        if session is not None:
            owner = self.user_by_id(session.user_id)
            assert owner is not None, "the model kept a session of a deleted user"
            expected = (session, owner)
        assert_same(uow.sessions.find_with_user(token_hash), expected, "find_with_user")

    @initialize(
        population=st.lists(
            st.tuples(
                st.sampled_from(EMAILS), REGISTRATION_FIELDS, _PASSWORD_HASHES, st.integers(0, 3)
            ),
            min_size=1,
            max_size=len(EMAILS),
            unique_by=lambda person: person[0],
        ),
        counted=st.lists(st.sampled_from(RATE_KEYS), max_size=3),
    )
    def starts_empty(
        self,
        population: list[tuple[str, tuple[str, str | None, str | None], str, int]],
        counted: list[str],
    ) -> None:
        """The store starts empty; then a few users, sessions and counts, so that most rules
        have something to work on from the first step."""
        if self.count_rows is not None:
            assert self.count_rows(self.store) == RowCounts(0, 0, 0, 0, 0), "the store is not empty"
        with self.store() as uow:
            self.check_all_agree(uow)
        for email, fields, password_hash, session_count in population:
            self.add_user(email, fields, password_hash, None)
            for _ in range(session_count):
                self.start_session(self.users[email])
        for key in counted:
            self.hit(key, WINDOWS[0], 0)

    @invariant()
    def counts_agree(self) -> None:
        if self.count_rows is None:
            with self.store() as uow:
                self.check_all_agree(uow)
        else:
            stored, modelled = self.count_rows(self.store), self.model_counts()
            assert stored == modelled, f"the store holds {stored}, the model {modelled}"

    @rule()
    def everything_agrees(self) -> None:
        with self.store() as uow:
            self.check_all_agree(uow)

    # -- the clock ----------------------------------------------------------------------------

    @rule(seconds=st.sampled_from(SECONDS) | st.integers(0, 10**6))
    def time_passes(self, seconds: int) -> None:
        self.wait(seconds)

    # -- users --------------------------------------------------------------------------------

    @rule(
        email=st.sampled_from(EMAILS),
        fields=REGISTRATION_FIELDS,
        password_hash=_PASSWORD_HASHES,
        also_count=st.sampled_from(RATE_KEYS) | st.none(),
    )
    def add_user(
        self,
        email: str,
        fields: tuple[str, str | None, str | None],
        password_hash: str,
        also_count: str | None,
    ) -> None:
        """A new email is stored; a taken one is refused, and the unit of work goes on."""
        registration = Registration(email, *fields)
        with self.store(write=True) as uow:
            if also_count is not None:  # earlier work in the same unit of work must survive
                uow.rate_counters.hit(also_count, self.now, WINDOWS[0])
            if email in self.users:
                refusal = None
                try:
                    uow.users.add(registration, password_hash, self.now)
                except Conflict as conflict:
                    refusal = conflict.code
                assert refusal == "user.email_taken", f"a second {email}: {refusal}"
                assert_same(uow.users.get_by_email(email), self.users[email], "after a refusal")
                added = None
            else:
                added = uow.users.add(registration, password_hash, self.now)
            uow.commit()
        if also_count is not None:
            self.counters[also_count] = self.expected_count(also_count, WINDOWS[0])
        if added is not None:
            assert added.id not in self.user_ids, f"user id {added.id} handed out twice"
            expected = User(
                id=added.id,
                email=email,
                password_hash=password_hash,
                name=registration.name,
                phone=registration.phone,
                company=registration.company,
                preferences=Preferences(),
                credentials=Credentials(),
                created_at=self.now,
                updated_at=self.now,
                last_login=None,
            )
            assert_same(added, expected, "add")
            self.users[email] = expected
            self.user_ids.append(added.id)

    @rule(data=st.data())
    def get_user(self, data: st.DataObject) -> None:
        self.check_user(self.any_user_id(data))

    @rule(email=st.sampled_from(EMAILS))
    def get_user_by_email(self, email: str) -> None:
        with self.store() as uow:
            assert_same(uow.users.get_by_email(email), self.users.get(email), email)

    @precondition(lambda self: self.users)
    @rule(data=st.data(), changes=PROFILE_CHANGES, stale=st.booleans())
    def save_profile(self, data: st.DataObject, changes: dict[str, Any], stale: bool) -> None:
        """A profile write reads back whole; what ``save`` must not write stays as stored."""
        user = self.live_user(data)
        with self.store(write=True) as uow:
            current = uow.users.get_for_update(user.id)
            assert_same(current, user, "get_for_update")
            assert current is not None
            updated = apply_profile_changes(current, changes, self.now)
            written = updated
            if stale:  # a stale or tampered copy: none of these may reach the store
                written = dataclasses.replace(
                    updated,
                    email=data.draw(st.sampled_from(EMAILS), label="stale email"),
                    password_hash="stale-hash",
                    created_at=START - timedelta(days=1),
                    last_login=START - timedelta(days=1),
                )
            uow.users.save(written)
            uow.commit()
        self.replace_user(updated)
        with self.store() as uow:
            assert_same(uow.users.get(user.id), updated, "saved user")

    @rule(data=st.data(), password_hash=_PASSWORD_HASHES, wait=st.sampled_from(SECONDS))
    def set_password_hash(self, data: st.DataObject, password_hash: str, wait: int) -> None:
        user_id = self.any_user_id(data)
        self.wait(wait)
        with self.store(write=True) as uow:
            uow.users.set_password_hash(user_id, password_hash, self.now)
            uow.commit()
        user = self.user_by_id(user_id)
        if user is not None:
            self.replace_user(
                dataclasses.replace(user, password_hash=password_hash, updated_at=self.now)
            )
        self.check_user(user_id)

    @rule(data=st.data(), wait=st.sampled_from(SECONDS))
    def record_login(self, data: st.DataObject, wait: int) -> None:
        user_id = self.any_user_id(data)
        self.wait(wait)
        with self.store(write=True) as uow:
            uow.users.record_login(user_id, self.now)
            uow.commit()
        user = self.user_by_id(user_id)
        if user is not None:
            self.replace_user(dataclasses.replace(user, last_login=self.now))
        self.check_user(user_id)

    @rule(data=st.data())
    def save_a_deleted_user(self, data: st.DataObject) -> None:
        """Writing back a copy of a user who is gone brings nothing back."""
        gone = [user_id for user_id in self.user_ids if self.user_by_id(user_id) is None]
        user_id = data.draw(st.sampled_from([*gone, UNKNOWN_ID]), label="gone user_id")
        ghost = User(
            id=user_id,
            email="ghost@example.com",
            password_hash="h",
            name="Ghost",
            phone=None,
            company=None,
            preferences=Preferences(),
            credentials=Credentials(),
            created_at=self.now,
            updated_at=self.now,
            last_login=None,
        )
        with self.store(write=True) as uow:
            uow.users.save(ghost)
            uow.commit()
        with self.store() as uow:
            assert uow.users.get(user_id) is None
            assert uow.users.get_by_email("ghost@example.com") is None

    @rule(data=st.data())
    def delete_user(self, data: st.DataObject) -> None:
        """The user goes, and every session of theirs with them."""
        user_id = self.any_user_id(data)
        doomed = [h for h, s in self.sessions.items() if s.user_id == user_id]
        with self.store(write=True) as uow:
            uow.users.delete(user_id)
            uow.commit()
        self.drop_user(user_id)
        with self.store() as uow:
            assert uow.users.get(user_id) is None
            for token_hash in doomed:
                assert uow.sessions.find_with_user(token_hash) is None

    # -- sessions -----------------------------------------------------------------------------

    @precondition(lambda self: self.users)
    @rule(data=st.data())
    def add_session(self, data: st.DataObject) -> None:
        self.start_session(self.live_user(data))

    def start_session(self, user: User) -> None:
        token_hash = self.new_token_hash()
        with self.store(write=True) as uow:
            session = uow.sessions.add(user.id, token_hash, self.now)
            uow.commit()
        assert session.id not in self.session_ids, f"session id {session.id} handed out twice"
        expected = Session(session.id, user.id, token_hash, self.now, self.now)
        assert_same(session, expected, "sessions.add")
        self.sessions[token_hash] = expected
        self.session_ids.append(session.id)
        self.token_hashes.append(token_hash)

    @rule(data=st.data())
    def find_session(self, data: st.DataObject) -> None:
        token_hash = data.draw(
            st.sampled_from([*self.token_hashes, UNKNOWN_TOKEN_HASH]), label="token_hash"
        )
        with self.store() as uow:
            self.check_find(uow, token_hash)

    @rule(data=st.data(), wait=st.sampled_from(SECONDS))
    def touch_session(self, data: st.DataObject, wait: int) -> None:
        session_id = self.any_session_id(data)
        self.wait(wait)
        with self.store(write=True) as uow:
            uow.sessions.touch(session_id, self.now)
            uow.commit()
        session = self.session_by_id(session_id)
        if session is not None:
            self.sessions[session.token_hash] = dataclasses.replace(session, last_seen_at=self.now)
            with self.store() as uow:
                self.check_find(uow, session.token_hash)

    @rule(data=st.data())
    def revoke_session(self, data: st.DataObject) -> None:
        session_id = self.any_session_id(data)
        with self.store(write=True) as uow:
            uow.sessions.revoke(session_id)
            uow.commit()
        session = self.session_by_id(session_id)
        if session is not None:
            del self.sessions[session.token_hash]

    @rule(data=st.data())
    def revoke_all_for_user(self, data: st.DataObject) -> None:
        with_sessions = sorted({s.user_id for s in self.sessions.values()})
        if with_sessions and data.draw(st.booleans(), label="someone with sessions"):
            user_id = data.draw(st.sampled_from(with_sessions), label="user_id")
        else:
            user_id = self.any_user_id(data)
        # The session to spare: none, one of theirs, or someone else's, revoked, or unknown.
        theirs = [s.id for s in self.sessions.values() if s.user_id == user_id]
        spare = st.none() | st.sampled_from([*self.session_ids, UNKNOWN_ID])
        if theirs:
            spare = st.sampled_from(theirs) | spare
        except_id = data.draw(spare, label="except_session_id")
        with self.store(write=True) as uow:
            revoked = uow.sessions.revoke_all_for_user(user_id, except_session_id=except_id)
            uow.commit()
        doomed = [h for h, s in self.sessions.items() if s.user_id == user_id and s.id != except_id]
        assert revoked == len(doomed), f"revoke_all_for_user said {revoked}, not {len(doomed)}"
        for token_hash in doomed:
            del self.sessions[token_hash]

    @rule(data=st.data())
    def purge_expired(self, data: st.DataObject) -> None:
        """Limits a second before, on or after one session's own times, or ones that purge
        nothing (so that the other limit's edge shows), or now."""
        never = START - timedelta(days=1)
        anchor = None
        if self.sessions:
            anchor = data.draw(st.sampled_from(list(self.sessions.values())), label="anchor")

        def limit(label: str, anchored: datetime | None) -> datetime:
            choices = [never, self.now]
            if anchored is not None:
                choices = [anchored + timedelta(seconds=d) for d in (0, -1, 1)] + choices
            return data.draw(st.sampled_from(choices), label=label)

        idle_before = limit("idle_before", None if anchor is None else anchor.last_seen_at)
        created_before = limit("created_before", None if anchor is None else anchor.created_at)
        with self.store(write=True) as uow:
            purged = uow.sessions.purge_expired(idle_before, created_before)
            uow.commit()
        doomed = [
            h
            for h, s in self.sessions.items()
            if s.last_seen_at < idle_before or s.created_at < created_before
        ]
        assert purged == len(doomed), f"purge_expired said {purged}, not {len(doomed)}"
        for token_hash in doomed:
            del self.sessions[token_hash]

    # -- rate counters ------------------------------------------------------------------------

    @rule(
        key=st.sampled_from(RATE_KEYS),
        window=st.sampled_from(WINDOWS),
        wait=st.sampled_from(SECONDS),
    )
    def hit_after_a_while(self, key: str, window: timedelta, wait: int) -> None:
        self.hit(key, window, wait)

    @precondition(lambda self: self.counters)
    @rule(data=st.data(), window=st.sampled_from(WINDOWS), offset=st.sampled_from((0, -1, 1)))
    def hit_at_the_end_of_a_window(
        self, data: st.DataObject, window: timedelta, offset: int
    ) -> None:
        """A hit exactly when the window ends (a new one begins), or a second before or after."""
        key = data.draw(st.sampled_from(sorted(self.counters)), label="key")
        end = self.counters[key].window_started_at + window + timedelta(seconds=offset)
        self.hit(key, window, max(0, int((end - self.now).total_seconds())))

    def hit(self, key: str, window: timedelta, wait: int) -> None:
        self.wait(wait)
        with self.store(write=True) as uow:
            counted = uow.rate_counters.hit(key, self.now, window)
            uow.commit()
        expected = self.expected_count(key, window)
        assert_same(counted, expected, f"hit({key})")
        self.counters[key] = expected

    @rule(key=st.sampled_from(RATE_KEYS))
    def peek(self, key: str) -> None:
        with self.store() as uow:
            assert_same(uow.rate_counters.peek(key), self.counters.get(key), f"peek({key})")

    @rule(key=st.sampled_from(RATE_KEYS))
    def clear(self, key: str) -> None:
        with self.store(write=True) as uow:
            uow.rate_counters.clear(key)
            uow.commit()
        self.counters.pop(key, None)
        self.peek(key)

    # -- contacts -----------------------------------------------------------------------------

    def any_contact_id(self, data: st.DataObject) -> int:
        """A live contact's id (half the time, when there are some), a deleted one's, or one
        never handed out."""
        anyone = st.sampled_from([*self.contact_ids, UNKNOWN_ID])
        live = list(self.contacts)
        return data.draw((st.sampled_from(live) | anyone) if live else anyone, label="contact_id")

    def live_contact(self, data: st.DataObject) -> Contact:
        return data.draw(st.sampled_from(list(self.contacts.values())), label="contact")

    def owner_or_anyone(self, data: st.DataObject, contact_id: int) -> int:
        """Mostly the contact's owner; sometimes another user (who must see nothing)."""
        contact = self.contacts.get(contact_id)
        if contact is not None and data.draw(st.booleans(), label="the owner"):
            return contact.user_id
        return self.any_user_id(data)

    def check_contact(self, user_id: int, contact_id: int) -> None:
        expected = self.contacts.get(contact_id)
        if expected is not None and expected.user_id != user_id:
            expected = None
        with self.store() as uow:
            assert_same(
                uow.contacts.get(user_id, contact_id),
                expected,
                f"contact {contact_id} of {user_id}",
            )

    @precondition(lambda self: self.users)
    @rule(
        data=st.data(),
        draft=CONTACT_DRAFTS,
        source=st.sampled_from(CONTACT_SOURCES),
        also_count=st.sampled_from(RATE_KEYS) | st.none(),
    )
    def add_contact(
        self,
        data: st.DataObject,
        draft: ContactDraft,
        source: ContactSource,
        also_count: str | None,
    ) -> None:
        """A free phone and email are stored; a taken one is refused, and the unit of work goes
        on (with what it did before)."""
        user = self.live_user(data)
        refusals = self.expected_conflict(user.id, draft)
        with self.store(write=True) as uow:
            if also_count is not None:
                uow.rate_counters.hit(also_count, self.now, WINDOWS[0])
            if refusals:
                refusal = None
                try:
                    uow.contacts.add(user.id, draft, source, self.now)
                except Conflict as conflict:
                    refusal = conflict.code
                assert refusal in refusals, f"adding {draft}: {refusal}, not one of {refusals}"
                added = None
            else:
                added = uow.contacts.add(user.id, draft, source, self.now)
            uow.commit()
        if also_count is not None:
            self.counters[also_count] = self.expected_count(also_count, WINDOWS[0])
        if added is None:
            return
        assert added.id not in self.contact_ids, f"contact id {added.id} handed out twice"
        expected = Contact(
            id=added.id,
            user_id=user.id,
            source=source,
            created_at=self.now,
            updated_at=self.now,
            last_message=None,
            **dataclasses.asdict(draft),
        )
        assert_same(added, expected, "contacts.add")
        self.contacts[added.id] = expected
        self.contact_ids.append(added.id)

    @rule(data=st.data())
    def get_contact(self, data: st.DataObject) -> None:
        contact_id = self.any_contact_id(data)
        self.check_contact(self.owner_or_anyone(data, contact_id), contact_id)

    @precondition(lambda self: self.contacts)
    @rule(data=st.data(), draft=CONTACT_DRAFTS, stale=st.booleans(), wait=st.sampled_from(SECONDS))
    def save_contact(
        self, data: st.DataObject, draft: ContactDraft, stale: bool, wait: int
    ) -> None:
        """The writable fields and ``updated_at`` are written; a taken phone or email is
        refused; what ``save`` must not write (source, created_at, last_message) stays."""
        contact = self.live_contact(data)
        self.wait(wait)
        updated = revised(contact, draft, self.now)
        written = updated
        if stale:
            other = next(s for s in CONTACT_SOURCES if s != contact.source)
            moment = START - timedelta(days=3)
            written = dataclasses.replace(
                updated, source=other, created_at=moment, last_message=moment
            )
        refusals = self.expected_conflict(contact.user_id, draft, contact.id)
        with self.store(write=True) as uow:
            refusal = None
            try:
                uow.contacts.save(written)
            except Conflict as conflict:
                refusal = conflict.code
            uow.commit()
        if refusals:
            assert refusal in refusals, f"saving {draft}: {refusal}, not one of {refusals}"
        else:
            assert refusal is None, f"saving {draft} was refused: {refusal}"
            self.contacts[contact.id] = updated
        self.check_contact(contact.user_id, contact.id)

    @precondition(lambda self: self.contacts)
    @rule(data=st.data())
    def save_for_someone_else(self, data: st.DataObject) -> None:
        """A copy of a contact under another user's id, or of a deleted one, writes nothing."""
        contact = self.live_contact(data)
        gone = [i for i in self.contact_ids if i not in self.contacts]
        contact_id = data.draw(st.sampled_from([contact.id, *gone, UNKNOWN_ID]), label="id")
        user_id = self.any_user_id(data)
        if contact_id == contact.id and user_id == contact.user_id:
            return
        ghost = dataclasses.replace(contact, id=contact_id, user_id=user_id, name="Fantasma")
        with self.store(write=True) as uow:
            uow.contacts.save(ghost)
            uow.commit()
        self.check_contact(contact.user_id, contact.id)

    @rule(data=st.data())
    def delete_contact(self, data: st.DataObject) -> None:
        contact_id = self.any_contact_id(data)
        user_id = self.owner_or_anyone(data, contact_id)
        expected = contact_id in self.contacts and self.contacts[contact_id].user_id == user_id
        with self.store(write=True) as uow:
            deleted = uow.contacts.delete(user_id, contact_id)
            uow.commit()
        assert deleted is expected, f"delete({user_id}, {contact_id}) said {deleted}"
        if expected:
            del self.contacts[contact_id]
        self.check_contact(user_id, contact_id)

    @rule(data=st.data())
    def delete_many_contacts(self, data: st.DataObject) -> None:
        user_id = self.any_user_id(data)
        ids = data.draw(
            st.lists(st.sampled_from([*self.contact_ids, UNKNOWN_ID]), max_size=6), label="ids"
        )
        doomed = {i for i in ids if i in self.contacts and self.contacts[i].user_id == user_id}
        with self.store(write=True) as uow:
            deleted = uow.contacts.delete_many(user_id, ids)
            uow.commit()
        assert deleted == len(doomed), f"delete_many said {deleted}, not {len(doomed)}"
        for contact_id in doomed:
            del self.contacts[contact_id]

    def draw_search(self, data: st.DataObject) -> str | None:
        """Part of a contact's name (in another case), email or phone; or any short text."""
        pieces = [
            text
            for contact in self.contacts.values()
            for text in (contact.name, contact.name.upper(), contact.email, contact.phone)
            if text
        ]
        some_text = _text(6).map(str.strip)
        if pieces:
            whole = data.draw(st.sampled_from(pieces), label="searched in")
            start = data.draw(st.integers(0, max(0, len(whole) - 1)), label="from")
            length = data.draw(st.integers(1, 6), label="length")
            some_text = st.just(whole[start : start + length].strip()) | some_text
        search = data.draw(st.none() | some_text | st.sampled_from(("600 111", "garcía", "%")))
        return search or None

    @rule(
        data=st.data(),
        status=st.none() | st.sampled_from(CONTACT_STATUSES),
        tags=st.lists(st.sampled_from(TAGS), max_size=2, unique=True).map(tuple),
        sort=st.sampled_from(CONTACT_SORTS),
        page=st.integers(1, 4),
        per_page=st.sampled_from((1, 2, 3, 100)),
    )
    def list_contacts(
        self,
        data: st.DataObject,
        status: Any,
        tags: tuple[str, ...],
        sort: Any,
        page: int,
        per_page: int,
    ) -> None:
        """A page, its total, and the export stream of the same query, as the rules say."""
        user_id = self.any_user_id(data)
        query = ContactQuery(page, per_page, self.draw_search(data), status, tags, sort)
        expected, expected_total = self.expected_page(user_id, query)
        with self.store() as uow:
            got, total = uow.contacts.page(user_id, query)
            streamed = list(uow.contacts.stream(user_id, query))
        assert_same(tuple(got), tuple(expected), f"page({query})")
        assert total == expected_total, f"page({query}) total {total}, not {expected_total}"
        everything = dataclasses.replace(query, page=1, per_page=10**6)
        assert_same(tuple(streamed), tuple(self.expected_page(user_id, everything)[0]), "stream")

    @rule(data=st.data(), back=st.sampled_from((0, 1, 7 * 86400 - 1, 7 * 86400, 7 * 86400 + 1)))
    def contact_stats(self, data: st.DataObject, back: int) -> None:
        """Counted at a moment a week (give or take a second) after some contact's creation,
        by the contacts' stats and by the dashboard's counts (which may remember a count)."""
        user_id = self.any_user_id(data)
        now = self.now
        if self.contacts:
            now = self.live_contact(data).created_at + timedelta(seconds=back)
        mine = self.contacts_of(user_id)
        expected = ContactStats(
            total=len(mine),
            active=sum(c.status == "activo" for c in mine),
            inactive=sum(c.status == "inactivo" for c in mine),
            recent=sum(c.created_at >= recent_since(now) for c in mine),
        )
        with self.store() as uow:
            assert_same(uow.contacts.stats(user_id, now), expected, "stats")
        with self.store() as uow:
            counted = uow.dashboard.counts(user_id, now, last_days(now, "UTC").starts)
        assert_same(counted.contacts, expected, "dashboard contacts")
        assert counted.opted_out == sum(c.opted_out for c in mine), "dashboard opted out"

    @precondition(lambda self: self.users)
    @rule(
        data=st.data(),
        drafts=st.lists(st.tuples(CONTACT_DRAFTS, _GIVEN), min_size=1, max_size=6),
        on_duplicate=st.sampled_from(("skip", "update")),
    )
    def import_contacts(
        self,
        data: st.DataObject,
        drafts: list[tuple[ContactDraft, set[str]]],
        on_duplicate: OnDuplicate,
    ) -> None:
        """A batch of rows, new, existing and repeated, settled as ``plan_import`` says."""
        user = self.live_user(data)
        rows = [
            ImportedRow(
                number + 2,
                draft,
                frozenset(
                    {"name", *given}
                    | {name for name in ("phone", "email") if getattr(draft, name) is not None}
                ),
            )
            for number, (draft, given) in enumerate(drafts)
        ]
        plan = plan_import(rows, self.contacts_of(user.id), on_duplicate)
        with self.store(write=True) as uow:
            settled = uow.contacts.import_batch(user.id, rows, on_duplicate, self.now)
            uow.commit()
        assert settled == list(plan.settlements), f"{settled} != {list(plan.settlements)}"
        for stored, fields in plan.changed:
            self.contacts[stored.id] = revised(stored, fields, self.now)
        with self.store() as uow:
            created = [
                c
                for c in uow.contacts.stream(user.id, ContactQuery(sort="created_at"))
                if c.id not in self.contacts
            ]
        assert [c.draft for c in created] == list(plan.created), "the created contacts"
        for contact in created:
            assert contact.id not in self.contact_ids, f"contact id {contact.id} handed out twice"
            expected = Contact(
                id=contact.id,
                user_id=user.id,
                source="import",
                created_at=self.now,
                updated_at=self.now,
                last_message=None,
                **dataclasses.asdict(contact.draft),
            )
            assert_same(contact, expected, "an imported contact")
            self.contacts[contact.id] = expected
            self.contact_ids.append(contact.id)

    # -- import records -----------------------------------------------------------------------

    @precondition(lambda self: self.users)
    @rule(
        data=st.data(),
        filename=_clean(60),
        file_type=st.none() | st.sampled_from(("csv", "excel", "vcard")),
        finish=st.none() | st.sampled_from(IMPORT_STATUSES[1:]),
        counts=st.builds(ImportCounts, *[st.integers(0, 10**6)] * 5),
        error=st.none() | _clean(300),
        page=st.integers(1, 3),
        per_page=st.sampled_from((1, 2, 20)),
    )
    def record_import(
        self,
        data: st.DataObject,
        filename: str,
        file_type: Any,
        finish: Any,
        counts: ImportCounts,
        error: str | None,
        page: int,
        per_page: int,
    ) -> None:
        user = self.live_user(data)
        with self.store(write=True) as uow:
            import_id = uow.imports.start(user.id, filename, file_type, self.now)
            uow.commit()
        assert import_id not in self.imports, f"import id {import_id} handed out twice"
        record = ImportedFile(
            import_id,
            user.id,
            filename,
            file_type,
            "processing",
            ImportCounts(),
            None,
            self.now,
            None,
        )
        if finish is not None:
            self.wait(1)
            with self.store(write=True) as uow:
                uow.imports.finish(import_id, counts, finish, error, self.now)
                uow.commit()
            record = dataclasses.replace(
                record, status=finish, counts=counts, error_message=error, completed_at=self.now
            )
        self.imports[import_id] = record
        mine = sorted(
            (r for r in self.imports.values() if r.user_id == user.id),
            key=lambda r: (r.created_at, r.id),
            reverse=True,
        )
        with self.store() as uow:
            got, total = uow.imports.page(user.id, page, per_page)
        offset = (page - 1) * per_page
        assert_same(tuple(got), tuple(mine[offset : offset + per_page]), "imports.page")
        assert total == len(mine)

    # -- units of work ------------------------------------------------------------------------

    def change_without_telling_the_model(self, uow: UnitOfWork, change: str) -> None:
        """One change through ``uow``, checked to be visible inside it; the model is untouched."""
        # The users still there in this unit of work (an earlier change may have deleted one).
        live = [user for user in self.users.values() if uow.users.get(user.id) is not None]
        if change == "add_user":
            fresh = [email for email in EMAILS if uow.users.get_by_email(email) is None]
            if fresh:
                uow.users.add(Registration(fresh[0], "Nadie", None, None), "h", self.now)
                assert uow.users.get_by_email(fresh[0]) is not None
        elif change == "delete_user" and live:
            uow.users.delete(live[0].id)
            assert uow.users.get(live[0].id) is None
        elif change == "save_profile" and live:
            changes = {"name": "Otro nombre", "gemini_api_key": "AIza-abandoned-key"}
            current = uow.users.get(live[-1].id)
            assert current is not None
            uow.users.save(apply_profile_changes(current, changes, self.now))
            saved = uow.users.get(live[-1].id)
            assert saved is not None
            assert saved.name == "Otro nombre"
        elif change == "set_password_hash" and live:
            uow.users.set_password_hash(live[0].id, "abandoned-hash", self.now)
        elif change == "record_login" and live:
            uow.users.record_login(live[0].id, self.now + timedelta(seconds=1))
        elif change == "add_session" and live:
            uow.sessions.add(live[0].id, self.new_token_hash(), self.now)
        elif change == "touch" and self.sessions:
            session = next(iter(self.sessions.values()))
            uow.sessions.touch(session.id, self.now + timedelta(seconds=1))
        elif change == "revoke_all" and live:
            uow.sessions.revoke_all_for_user(live[0].id)
        elif change == "purge":
            uow.sessions.purge_expired(self.now + timedelta(days=1), self.now)
        elif change == "hit":
            for key in RATE_KEYS:
                uow.rate_counters.hit(key, self.now, WINDOWS[0])
        elif change == "clear":
            for key in RATE_KEYS:
                uow.rate_counters.clear(key)
                assert uow.rate_counters.peek(key) is None
        elif change == "add_contact" and live:
            free = [
                p for p in PHONES if uow.contacts.page(live[0].id, ContactQuery(search=p))[1] == 0
            ]
            if free:
                added = uow.contacts.add(
                    live[0].id, ContactDraft("Nadie", free[0], None), "manual", self.now
                )
                assert uow.contacts.get(live[0].id, added.id) == added
        elif change == "save_contact" and self.contacts:
            contact = next(iter(self.contacts.values()))
            stored = uow.contacts.get(contact.user_id, contact.id)
            if stored is not None:
                draft = dataclasses.replace(stored.draft, name="Otro nombre", tags=("x_y",))
                uow.contacts.save(revised(stored, draft, self.now))
        elif change == "delete_contacts" and live:
            uow.contacts.delete_many(live[0].id, list(self.contacts))
        elif change == "import_contacts" and live:
            rows = [
                ImportedRow(
                    2,
                    ContactDraft("Importada", PHONES[0], EMAILS[0], tags=("vip",)),
                    frozenset({"name", "phone", "email", "tags"}),
                ),
                ImportedRow(3, ContactDraft("Otra", PHONES[4], None), frozenset({"name", "phone"})),
            ]
            uow.contacts.import_batch(live[-1].id, rows, "update", self.now)
        elif change == "record_import" and live:
            import_id = uow.imports.start(live[0].id, "abandonado.csv", "csv", self.now)
            uow.imports.finish(import_id, ImportCounts(1, 1, 0, 0, 0), "completed", None, self.now)

    _CHANGES = st.lists(
        st.sampled_from(
            [
                "add_user",
                "delete_user",
                "save_profile",
                "set_password_hash",
                "record_login",
                "add_session",
                "touch",
                "revoke_all",
                "purge",
                "hit",
                "clear",
                "add_contact",
                "save_contact",
                "delete_contacts",
                "import_contacts",
                "record_import",
            ]
        ),
        min_size=1,
        max_size=4,
    )

    @rule(changes=_CHANGES, fail=st.booleans())
    def abandon_a_unit_of_work(self, changes: list[str], fail: bool) -> None:
        """Without ``commit()`` (ending normally, or by an exception) nothing changes."""

        class Abandoned(Exception):
            pass

        try:
            with self.store(write=True) as uow:
                for change in changes:
                    self.change_without_telling_the_model(uow, change)
                if fail:
                    raise Abandoned
        except Abandoned:
            pass
        with self.store() as uow:
            self.check_all_agree(uow)

    @rule(key=st.sampled_from(RATE_KEYS), changes=_CHANGES)
    def work_after_commit(self, key: str, changes: list[str]) -> None:
        """What was committed stays; what followed the commit in the same unit of work goes."""
        with self.store(write=True) as uow:
            uow.rate_counters.hit(key, self.now, WINDOWS[1])
            uow.commit()
            for change in changes:
                self.change_without_telling_the_model(uow, change)
        self.counters[key] = self.expected_count(key, WINDOWS[1])
        with self.store() as uow:
            self.check_all_agree(uow)


DEFAULT_SETTINGS = hypothesis.settings(
    max_examples=50,
    stateful_step_count=25,
    suppress_health_check=[HealthCheck.too_slow],
)


def repository_conformance_machine(
    make_store: Callable[[], F], count_rows: Callable[[F], RowCounts] | None = None
) -> type[RuleBasedStateMachine]:
    """The state machine bound to ``make_store`` (called per example: an empty store)."""

    class RepositoryConformance(_RepositoryMachine):
        pass

    RepositoryConformance.make_store = staticmethod(make_store)  # type: ignore[assignment]
    RepositoryConformance.count_rows = (  # type: ignore[assignment]
        None if count_rows is None else staticmethod(count_rows)
    )
    return RepositoryConformance


def run_repository_conformance(
    make_store: Callable[[], F],
    *,
    count_rows: Callable[[F], RowCounts] | None = None,
    settings: hypothesis.settings | None = None,
) -> None:
    """Run the suite (raises on the first disagreement, with Hypothesis's shrunk steps)."""
    machine = repository_conformance_machine(make_store, count_rows)
    run_state_machine_as_test(machine, settings=settings or DEFAULT_SETTINGS)
