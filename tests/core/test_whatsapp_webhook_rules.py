"""The WhatsApp webhook's rules: the payload parsed into receipts (tolerant of what it does not
read, strict about what it reads), the body signature and the subscription handshake."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_core.domain.whatsapp_webhook import (
    PROVIDER_MESSAGE_ID_MAX,
    WHATSAPP_BUSINESS_ACCOUNT,
    MalformedWebhook,
    Receipt,
    WebhookEvents,
    handshake_challenge,
    parse_webhook,
    signature,
    verify_signature,
)
from nexus_core.errors import DomainError, Forbidden, Unauthenticated, ValidationFailed

SECRET = "0123456789abcdef0123456789abcdef"
LATEST = 253402300799  # 9999-12-31T23:59:59Z

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=24,
)


def status(
    message_id: object = "wamid.1", kind: object = "delivered", timestamp: object = "1700000000"
) -> dict[str, Any]:
    """A status as the Cloud API sends it, with the members we do not read."""
    return {
        "id": message_id,
        "status": kind,
        "timestamp": timestamp,
        "recipient_id": "34600000001",
        "conversation": {"id": "c1", "origin": {"type": "marketing"}},
        "pricing": {"billable": True, "category": "marketing"},
    }


def payload(*values: object, field: str = "messages") -> dict[str, Any]:
    """A webhook call with one change (of ``field``) per value."""
    return {
        "object": WHATSAPP_BUSINESS_ACCOUNT,
        "entry": [
            {
                "id": "102290129340398",
                "changes": [{"field": field, "value": value} for value in values],
            }
        ],
    }


def value(*statuses: object, **members: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "34910000000", "phone_number_id": "1098765"},
        "statuses": list(statuses),
        **members,
    }


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# --- the payload ----------------------------------------------------------------------------


def test_statuses_become_receipts_in_payload_order() -> None:
    events = parse_webhook(
        payload(
            value(status("wamid.1", "sent", "1700000000"), status("wamid.2", "read", "1700000005")),
            value(status("wamid.3", "failed", "1700000009")),
        )
    )
    assert events == WebhookEvents(
        receipts=(
            Receipt("wamid.1", "sent", at(1700000000)),
            Receipt("wamid.2", "read", at(1700000005)),
            Receipt("wamid.3", "failed", at(1700000009)),
        )
    )


def test_receipts_of_every_entry_and_change_are_read() -> None:
    body = payload(value(status("wamid.1")))
    body["entry"].append({"id": "2", "changes": [{"field": "messages", "value": value(status())}]})
    assert len(parse_webhook(body).receipts) == 2


def test_unknown_statuses_are_kept_for_the_use_case_to_ignore() -> None:
    (receipt,) = parse_webhook(payload(value(status(kind="deleted")))).receipts
    assert receipt.status == "deleted"
    assert receipt.receipt_status is None
    assert Receipt("wamid.1", "read", at(0)).receipt_status == "read"


@pytest.mark.parametrize(
    "body",
    [
        {"object": "page", "entry": [{"id": "1", "changes": [{"field": "feed", "value": {}}]}]},
        {"object": "instagram"},
        {},
        payload({"anything": [1, 2]}, field="account_update"),
        payload(value(), field="message_template_status_update"),
        payload(value()),
        {"object": WHATSAPP_BUSINESS_ACCOUNT, "entry": []},
        {"object": WHATSAPP_BUSINESS_ACCOUNT, "entry": [{"id": "1", "changes": []}]},
    ],
    ids=[
        "another-object",
        "another-object-without-entries",
        "no-object",
        "another-field",
        "template-updates",
        "no-statuses",
        "no-entries",
        "no-changes",
    ],
)
def test_kinds_we_do_not_handle_carry_no_receipt(body: dict[str, Any]) -> None:
    assert parse_webhook(body) == WebhookEvents()


def test_values_of_other_fields_are_not_read_at_all() -> None:
    assert parse_webhook(payload({"statuses": "not a list"}, field="account_update")).receipts == ()


def test_a_numeric_timestamp_is_read_too() -> None:
    (receipt,) = parse_webhook(payload(value(status(timestamp=1700000000)))).receipts
    assert receipt.timestamp == at(1700000000)


@pytest.mark.parametrize(
    ("body", "path", "code"),
    [
        ([], "", "field.wrong_type"),
        (None, "", "field.required"),
        ({"object": WHATSAPP_BUSINESS_ACCOUNT}, "entry", "field.required"),
        ({"object": WHATSAPP_BUSINESS_ACCOUNT, "entry": {}}, "entry", "field.wrong_type"),
        ({"object": WHATSAPP_BUSINESS_ACCOUNT, "entry": ["x"]}, "entry.0", "field.wrong_type"),
        (
            {"object": WHATSAPP_BUSINESS_ACCOUNT, "entry": [{"id": "1"}]},
            "entry.0.changes",
            "field.required",
        ),
        (
            {"object": WHATSAPP_BUSINESS_ACCOUNT, "entry": [{"changes": [{"value": {}}]}]},
            "entry.0.changes.0.field",
            "field.required",
        ),
        (
            {"object": WHATSAPP_BUSINESS_ACCOUNT, "entry": [{"changes": [{"field": 7}]}]},
            "entry.0.changes.0.field",
            "field.wrong_type",
        ),
        (
            {"object": WHATSAPP_BUSINESS_ACCOUNT, "entry": [{"changes": [{"field": "messages"}]}]},
            "entry.0.changes.0.value",
            "field.required",
        ),
        (payload([]), "entry.0.changes.0.value", "field.wrong_type"),
        (payload({"statuses": {}}), "entry.0.changes.0.value.statuses", "field.wrong_type"),
        (payload(value("x")), "entry.0.changes.0.value.statuses.0", "field.wrong_type"),
        (
            payload(value(status(), {"status": "read", "timestamp": "1"})),
            "entry.0.changes.0.value.statuses.1.id",
            "field.required",
        ),
        (
            payload(value(status(message_id=12))),
            "entry.0.changes.0.value.statuses.0.id",
            "field.wrong_type",
        ),
        (
            payload(value(status(kind=None))),
            "entry.0.changes.0.value.statuses.0.status",
            "field.required",
        ),
        (
            payload(value(status(timestamp=None))),
            "entry.0.changes.0.value.statuses.0.timestamp",
            "field.required",
        ),
        (
            payload(value(status(timestamp="soon"))),
            "entry.0.changes.0.value.statuses.0.timestamp",
            "field.invalid",
        ),
        (
            payload(value(status(timestamp="-5"))),
            "entry.0.changes.0.value.statuses.0.timestamp",
            "field.invalid",
        ),
        (
            payload(value(status(timestamp=-5))),
            "entry.0.changes.0.value.statuses.0.timestamp",
            "field.invalid",
        ),
        (
            payload(value(status(timestamp=LATEST + 1))),
            "entry.0.changes.0.value.statuses.0.timestamp",
            "field.invalid",
        ),
        (
            payload(value(status(timestamp="9" * 5000))),
            "entry.0.changes.0.value.statuses.0.timestamp",
            "field.invalid",
        ),
        (
            payload(value(status(timestamp=True))),
            "entry.0.changes.0.value.statuses.0.timestamp",
            "field.wrong_type",
        ),
        (
            payload(value(status(timestamp=1.5))),
            "entry.0.changes.0.value.statuses.0.timestamp",
            "field.wrong_type",
        ),
    ],
)
def test_a_malformed_payload_names_where(body: object, path: str, code: str) -> None:
    with pytest.raises(MalformedWebhook) as caught:
        parse_webhook(body)
    assert [(e.field, e.code) for e in caught.value.errors] == [(path, code)]
    assert caught.value.code == code
    assert isinstance(caught.value, ValidationFailed)


def test_the_latest_timestamp_is_accepted() -> None:
    (receipt,) = parse_webhook(payload(value(status(timestamp=str(LATEST))))).receipts
    assert receipt.timestamp == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def outcome(body: object) -> WebhookEvents | MalformedWebhook:
    """What parsing ``body`` gives: its events, or the one error the parser may raise (any
    other exception fails the test)."""
    try:
        return parse_webhook(body)
    except MalformedWebhook as error:
        return error


def assert_well_reported(error: MalformedWebhook) -> None:
    (found,) = error.errors
    assert found.code in {"field.required", "field.wrong_type", "field.invalid"}
    assert found.field == "" or found.field.split(".")[0] == "entry"


@given(JSON_VALUES)
def test_any_json_value_is_events_or_a_malformed_webhook(body: object) -> None:
    parsed = outcome(body)
    if isinstance(parsed, MalformedWebhook):
        assert_well_reported(parsed)
    else:
        assert all(isinstance(r.provider_message_id, str) for r in parsed.receipts)


def _either(right: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the right thing; else any JSON value (``null`` standing for a missing member)."""
    return st.one_of(right, right, right, JSON_VALUES)


def _near(**members: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """An object with these members, each maybe wrong, and maybe a member we do not read."""
    return st.fixed_dictionaries(
        {name: _either(strategy) for name, strategy in members.items()},
        optional={"unread": JSON_VALUES},
    )


_NEAR_STATUS = _near(
    id=st.text(),
    status=st.sampled_from(["sent", "delivered", "read", "failed", "deleted"]),
    timestamp=st.integers(-10, LATEST + 10).map(str),
)
_NEAR_VALUE = _near(
    statuses=st.lists(_either(_NEAR_STATUS), min_size=1, max_size=3), messages=JSON_VALUES
)
_NEAR_CHANGE = _near(field=st.sampled_from(["messages", "other"]), value=_NEAR_VALUE)
_NEAR_ENTRY = _near(id=st.text(), changes=st.lists(_either(_NEAR_CHANGE), min_size=1, max_size=3))
_NEAR_PAYLOAD = _near(
    object=st.just(WHATSAPP_BUSINESS_ACCOUNT),
    entry=st.lists(_either(_NEAR_ENTRY), min_size=1, max_size=3),
)


@given(_NEAR_PAYLOAD)
def test_payloads_almost_right_are_events_or_a_malformed_webhook(body: dict[str, Any]) -> None:
    parsed = outcome(body)
    if isinstance(parsed, MalformedWebhook):
        assert_well_reported(parsed)
    else:
        for receipt in parsed.receipts:
            assert isinstance(receipt.status, str)
            assert receipt.timestamp.tzinfo is UTC


_STATUS_FIELDS = st.tuples(
    st.text(min_size=1),
    st.sampled_from(["sent", "delivered", "read", "failed", "deleted", "played"]),
    st.integers(0, LATEST),
    st.booleans(),
)


@given(st.lists(st.lists(st.lists(_STATUS_FIELDS, max_size=3), max_size=3), max_size=3))
def test_well_formed_payloads_give_every_status_in_order(
    entries: list[list[list[tuple[str, str, int, bool]]]],
) -> None:
    body = {
        "object": WHATSAPP_BUSINESS_ACCOUNT,
        "entry": [
            {
                "id": str(e),
                "changes": [
                    {
                        "field": "messages",
                        "value": value(
                            *(
                                status(i, kind, str(t) if as_text else t)
                                for i, kind, t, as_text in c
                            )
                        ),
                    }
                    for c in changes
                ],
            }
            for e, changes in enumerate(entries)
        ],
    }
    expected = tuple(
        Receipt(i, kind, at(t)) for changes in entries for c in changes for i, kind, t, _ in c
    )
    assert parse_webhook(body).receipts == expected


@pytest.mark.parametrize(
    ("message_id", "could"),
    [
        ("wamid.HBgLMzQ2MDAwMDAwMDEVAgARGBI5QTNDQTVCM0E0NjM2NkE0NjUA", True),
        ("x" * PROVIDER_MESSAGE_ID_MAX, True),
        ("", False),
        ("x" * (PROVIDER_MESSAGE_ID_MAX + 1), False),
        ("wamid.\x00", False),
        ("wamid.\n", False),
        ("wamid.\ud800", False),
    ],
)
def test_ids_that_no_stored_message_can_have(message_id: str, could: bool) -> None:
    assert Receipt(message_id, "read", at(0)).could_name_a_message is could


# --- the signature --------------------------------------------------------------------------


def test_the_signature_is_the_hex_hmac_sha256_of_the_body() -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert signature(SECRET, body) == f"sha256={digest}"
    verify_signature(SECRET, body, f"sha256={digest}")
    verify_signature(SECRET, body, f"sha256={digest.upper()}")


@given(st.text(), st.binary())
def test_the_right_signature_is_accepted(secret: str, body: bytes) -> None:
    verify_signature(secret, body, signature(secret, body))


@pytest.mark.parametrize("header", [None, "", "abc", "sha1=abc", "SHA256=abc", " sha256=abc"])
def test_no_sha256_signature_is_unauthenticated(header: str | None) -> None:
    with pytest.raises(Unauthenticated) as caught:
        verify_signature(SECRET, b"{}", header)
    assert caught.value.code == "webhook.signature_missing"


@given(st.binary(), st.binary(min_size=1), st.text())
def test_another_body_secret_or_signature_is_forbidden(
    body: bytes, extra: bytes, forged: str
) -> None:
    for secret, header in (
        (SECRET, signature(SECRET, body + extra)),
        (SECRET, signature(SECRET + "x", body)),
        (SECRET, f"sha256={forged}"),
    ):
        if header == signature(SECRET, body):
            continue
        with pytest.raises(Forbidden) as caught:
            verify_signature(secret, body, header)
        assert caught.value.code == "webhook.signature_invalid"


# --- the handshake --------------------------------------------------------------------------


def test_the_handshake_echoes_the_challenge() -> None:
    assert handshake_challenge("subscribe", "my-token", "1158201444", "my-token") == "1158201444"


@pytest.mark.parametrize(
    ("mode", "token", "challenge", "fields"),
    [
        (None, None, None, {"hub.mode", "hub.verify_token", "hub.challenge"}),
        ("subscribe", "my-token", None, {"hub.challenge"}),
        ("subscribe", "", "1", {"hub.verify_token"}),
        (None, "my-token", "1", {"hub.mode"}),
    ],
)
def test_a_handshake_without_its_parameters_is_invalid(
    mode: str | None, token: str | None, challenge: str | None, fields: set[str]
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        handshake_challenge(mode, token, challenge, "my-token")
    assert {e.field for e in caught.value.errors} == fields
    assert {e.code for e in caught.value.errors} == {"field.required"}


def test_a_mode_other_than_subscribe_is_invalid() -> None:
    with pytest.raises(ValidationFailed) as caught:
        handshake_challenge("unsubscribe", "my-token", "1", "my-token")
    assert [(e.field, e.code) for e in caught.value.errors] == [("hub.mode", "field.invalid")]


@pytest.mark.parametrize(
    ("token", "configured"),
    [("wrong", "my-token"), ("my-token", None), ("my-tokén", "my-token"), ("\ud800", "my-token")],
)
def test_a_wrong_or_unconfigured_verify_token_is_forbidden(
    token: str, configured: str | None
) -> None:
    with pytest.raises(Forbidden) as caught:
        handshake_challenge("subscribe", token, "1", configured)
    assert caught.value.code == "webhook.verify_token_invalid"


@given(st.text(), st.text(), st.text(), st.text() | st.none())
def test_the_handshake_raises_only_domain_errors(
    mode: str, token: str, challenge: str, configured: str | None
) -> None:
    try:
        echoed = handshake_challenge(mode, token, challenge, configured)
    except DomainError:
        return
    assert (mode, token, echoed) == ("subscribe", configured, challenge)
