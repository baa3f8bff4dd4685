"""In-memory implementations of the ports, faithful enough to run every use case."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

from nexus_core.domain.rate_limits import WindowCount
from nexus_core.domain.sessions import Session
from nexus_core.domain.users import Credentials, Preferences, Registration, User
from nexus_core.errors import Conflict


@dataclasses.dataclass
class _State:
    users: dict[int, User] = dataclasses.field(default_factory=dict)
    sessions: dict[int, Session] = dataclasses.field(default_factory=dict)
    counters: dict[str, WindowCount] = dataclasses.field(default_factory=dict)
    # A plain int, not itertools.count: the unit of work deep-copies the state, and copying
    # itertools objects is deprecated since Python 3.12 and gone in 3.14.
    last_id: int = 0

    def next_id(self) -> int:
        self.last_id += 1
        return self.last_id


class FakeUsers:
    def __init__(self, state: _State) -> None:
        self._s = state

    def add(self, registration: Registration, password_hash: str, now: datetime) -> User:
        if self.get_by_email(registration.email) is not None:
            raise Conflict("user.email_taken")
        user = User(
            id=self._s.next_id(),
            email=registration.email,
            password_hash=password_hash,
            name=registration.name,
            phone=registration.phone,
            company=registration.company,
            preferences=Preferences(),
            credentials=Credentials(),
            created_at=now,
            updated_at=now,
            last_login=None,
        )
        self._s.users[user.id] = user
        return user

    def get(self, user_id: int) -> User | None:
        return self._s.users.get(user_id)

    def get_by_email(self, email: str) -> User | None:
        return next((u for u in self._s.users.values() if u.email == email), None)

    def get_for_update(self, user_id: int) -> User | None:
        return self.get(user_id)

    # Like an UPDATE that matches no row, writes to a user who no longer exists do nothing.
    def save(self, user: User) -> None:
        stored = self._s.users.get(user.id)
        if stored is None:
            return
        self._s.users[user.id] = dataclasses.replace(
            user,
            email=stored.email,
            password_hash=stored.password_hash,
            created_at=stored.created_at,
            last_login=stored.last_login,
        )

    def record_login(self, user_id: int, now: datetime) -> None:
        if user_id in self._s.users:
            self._s.users[user_id] = dataclasses.replace(self._s.users[user_id], last_login=now)

    def set_password_hash(self, user_id: int, password_hash: str, now: datetime) -> None:
        if user_id in self._s.users:
            self._s.users[user_id] = dataclasses.replace(
                self._s.users[user_id], password_hash=password_hash, updated_at=now
            )

    def delete(self, user_id: int) -> None:
        self._s.users.pop(user_id, None)
        for sid in [s.id for s in self._s.sessions.values() if s.user_id == user_id]:
            del self._s.sessions[sid]


class FakeSessions:
    def __init__(self, state: _State) -> None:
        self._s = state

    def add(self, user_id: int, token_hash: str, now: datetime) -> Session:
        session = Session(self._s.next_id(), user_id, token_hash, now, now)
        self._s.sessions[session.id] = session
        return session

    def find_with_user(self, token_hash: str) -> tuple[Session, User] | None:
        for session in self._s.sessions.values():
            if session.token_hash == token_hash:
                return session, self._s.users[session.user_id]
        return None

    def touch(self, session_id: int, now: datetime) -> None:
        if session_id in self._s.sessions:
            self._s.sessions[session_id] = dataclasses.replace(
                self._s.sessions[session_id], last_seen_at=now
            )

    def revoke(self, session_id: int) -> None:
        self._s.sessions.pop(session_id, None)

    def revoke_all_for_user(self, user_id: int, except_session_id: int | None = None) -> int:
        doomed = [
            s.id
            for s in self._s.sessions.values()
            if s.user_id == user_id and s.id != except_session_id
        ]
        for sid in doomed:
            del self._s.sessions[sid]
        return len(doomed)

    def purge_expired(self, idle_before: datetime, created_before: datetime) -> int:
        doomed = [
            s.id
            for s in self._s.sessions.values()
            if s.last_seen_at < idle_before or s.created_at < created_before
        ]
        for sid in doomed:
            del self._s.sessions[sid]
        return len(doomed)


class FakeRateCounters:
    def __init__(self, state: _State) -> None:
        self._s = state

    def hit(self, key: str, now: datetime, window: timedelta) -> WindowCount:
        current = self._s.counters.get(key)
        if current is None or now - current.window_started_at >= window:
            current = WindowCount(1, now)
        else:
            current = WindowCount(current.count + 1, current.window_started_at)
        self._s.counters[key] = current
        return current

    def peek(self, key: str) -> WindowCount | None:
        return self._s.counters.get(key)

    def clear(self, key: str) -> None:
        self._s.counters.pop(key, None)


class FakeUnitOfWork:
    """Works on a copy of the state and publishes it only on ``commit()``."""

    def __init__(self, store: FakeStore) -> None:
        self._store = store

    def __enter__(self) -> Self:
        self._state = copy.deepcopy(self._store.state)
        self.users = FakeUsers(self._state)
        self.sessions = FakeSessions(self._state)
        self.rate_counters = FakeRateCounters(self._state)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        del self._state

    def commit(self) -> None:
        # Publish a snapshot: work done after the commit stays private to this unit of work
        # and is dropped when it ends, as a database drops what follows its COMMIT.
        self._store.state = copy.deepcopy(self._state)


class FakeStore:
    """The fake database: call it to get a unit of work."""

    def __init__(self) -> None:
        self.state = _State()

    def __call__(self, *, write: bool = False) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)


class FakeHasher:
    """A fast, salted stand-in for bcrypt with the same interface."""

    def hash(self, password: str) -> str:
        salt = secrets.token_hex(4)
        return f"fake${salt}${hashlib.sha256((salt + password).encode()).hexdigest()}"

    def verify(self, password: str, password_hash: str) -> bool:
        try:
            _, salt, digest = password_hash.split("$")
        except ValueError:
            return False
        expected = hashlib.sha256((salt + password).encode()).hexdigest()
        return hmac.compare_digest(expected, digest)

    @property
    def decoy_hash(self) -> str:
        return "fake$00000000$" + "0" * 64


class FakeTokens:
    def new_token(self) -> str:
        return secrets.token_urlsafe(32)

    def hash_token(self, token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class FakeSecretBox:
    """Reversible and visibly not plaintext; no real secrecy."""

    def encrypt(self, plaintext: str) -> str:
        return "enc:" + plaintext[::-1]

    def decrypt(self, ciphertext: str) -> str:
        return ciphertext.removeprefix("enc:")[::-1]


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta
