"""Updating the profile through the use case: persisted on success, untouched on failure."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus_core.domain.api_keys import MASK_PREFIX
from nexus_core.domain.users import User
from nexus_core.errors import NotFound, ValidationFailed
from nexus_core.testing.fakes import (
    FakeClock,
    FakeContactFileReader,
    FakeHasher,
    FakeStore,
    FakeTokens,
)
from nexus_core.use_cases import accounts, profile
from nexus_core.use_cases.context import Ports

WA_KEY = "EAAG-whatsapp-secret-7f3a"


def make_world() -> tuple[Ports, FakeStore, FakeClock, User]:
    store, clock = FakeStore(), FakeClock()
    ports = Ports(store, FakeHasher(), FakeTokens(), clock, FakeContactFileReader())
    user = accounts.register(
        ports, email="ana@example.com", password="contraseña-segura", name="Ana"
    ).user
    return ports, store, clock, user


def test_a_valid_write_is_stored() -> None:
    ports, store, clock, user = make_world()
    clock.advance(timedelta(hours=1))
    changes = {"name": "Ana G.", "language": "en", "whatsapp_api_key": WA_KEY, "email": "x@y.z"}
    updated = profile.update_profile(ports, user.id, changes)
    assert store.state.users[user.id] == updated
    assert updated.name == "Ana G."
    assert updated.email == "ana@example.com"
    assert updated.preferences.language == "en"
    assert updated.credentials.whatsapp_api_key is not None
    assert updated.credentials.whatsapp_api_key.value == WA_KEY
    assert updated.updated_at == clock.now
    assert updated.created_at == user.created_at


# Bodies with at least one bad field; the good fields beside them must not be stored either.
_FAILING_BODIES = [
    {"name": "Eva", "language": "fr"},
    {"default_country": "XX", "phone": "600 111 222"},
    {"whatsapp_api_key": WA_KEY, "send_rate_per_minute": 601},
    {"gemini_knowledge_base": "k" * 20_001, "theme": "dark", "company": "ACME"},
    {"analytics": None, "data_sharing": True},
    {"phone": "06 12 34 56 78", "timezone": "Europe/Paris"},
]


@pytest.mark.parametrize("body", _FAILING_BODIES)
def test_a_failing_write_changes_nothing(body: dict[str, Any]) -> None:
    ports, store, clock, user = make_world()
    before = store.state.users[user.id]
    clock.advance(timedelta(hours=1))
    with pytest.raises(ValidationFailed):
        profile.update_profile(ports, user.id, body)
    assert store.state.users[user.id] == before


# Typed as the HTTP layer types them; values drawn freely, so many are invalid.
_FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "name": st.text(max_size=5),
    "company": st.none() | st.text(max_size=5),
    "phone": st.none() | st.sampled_from(["600 111 222", "123", "", "+33 6 12 34 56 78"]),
    "language": st.sampled_from(["es", "en", "fr", ""]),
    "theme": st.sampled_from(["light", "dark", "system", "neon"]),
    "default_country": st.sampled_from(["ES", "fr", "XX", ""]),
    "send_rate_per_minute": st.integers(-5, 700),
    "analytics": st.none() | st.booleans(),
}


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.sets(st.sampled_from(sorted(_FIELD_VALUES))))
    return {name: draw(_FIELD_VALUES[name]) for name in names}


@settings(max_examples=60)
@given(bodies())
def test_stored_user_is_either_the_result_or_untouched(changes: dict[str, Any]) -> None:
    ports, store, _, user = make_world()
    before = store.state.users[user.id]
    try:
        updated: User | None = profile.update_profile(ports, user.id, changes)
    except ValidationFailed as failure:
        updated, errors = None, failure.errors
    if updated is None:
        assert store.state.users[user.id] == before
        assert errors
        assert {e.field for e in errors} <= set(changes)
    else:
        assert store.state.users[user.id] == updated


def test_an_unknown_user_is_not_found() -> None:
    ports, store, _, user = make_world()
    with pytest.raises(NotFound) as caught:
        profile.update_profile(ports, user.id + 1000, {"name": "Eva"})
    assert caught.value.code == "resource.not_found"
    assert list(store.state.users) == [user.id]


def test_a_profile_write_keeps_the_sessions() -> None:
    ports, store, _, user = make_world()
    sessions = dict(store.state.sessions)
    profile.update_profile(ports, user.id, {"theme": "dark"})
    assert store.state.sessions == sessions


def test_api_key_status_reports_masks_never_secrets() -> None:
    ports, _, _, user = make_world()
    empty = profile.api_key_status(user)
    assert set(empty) == {"whatsapp", "gmail", "gemini"}
    assert all(not s.configured and s.masked is None for s in empty.values())

    updated = profile.update_profile(ports, user.id, {"whatsapp_api_key": WA_KEY})
    status = profile.api_key_status(updated)
    assert status["whatsapp"].configured
    masked = status["whatsapp"].masked
    assert masked is not None
    assert masked.endswith(WA_KEY[-4:])
    assert masked.startswith(MASK_PREFIX)
    assert WA_KEY not in masked
    assert not status["gmail"].configured
    assert not status["gemini"].configured


def test_the_mask_echoed_back_keeps_the_key_and_empty_clears_it() -> None:
    ports, store, _, user = make_world()
    updated = profile.update_profile(ports, user.id, {"gemini_api_key": WA_KEY})
    masked = profile.api_key_status(updated)["gemini"].masked
    kept = profile.update_profile(ports, user.id, {"gemini_api_key": masked, "theme": "dark"})
    assert kept.credentials.gemini_api_key == updated.credentials.gemini_api_key
    cleared = profile.update_profile(ports, user.id, {"gemini_api_key": ""})
    assert cleared.credentials.gemini_api_key is None
    assert not profile.api_key_status(store.state.users[user.id])["gemini"].configured
