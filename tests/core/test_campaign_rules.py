"""Campaigns: every field rule and error code, all problems at once, partial writes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus_core.domain.audience import Audience
from nexus_core.domain.campaigns import (
    CAMPAIGN_FIELDS,
    MEDIA_URL_MAX,
    MESSAGE_MAX,
    SUBJECT_MAX,
    TEMPLATE_PARAM_MAX,
    Campaign,
    CampaignDraft,
    WhatsAppTemplate,
    apply_campaign_changes,
    check_schedule_time,
    lift_contact_ids,
    parse_instant,
    revised,
    validate_campaign,
)
from nexus_core.domain.identifiers import ID_MAX
from nexus_core.errors import ValidationFailed

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)

BLACK_FRIDAY = CampaignDraft(
    name="Black Friday",
    channel="whatsapp",
    subject=None,
    message="Hola {nombre}, 20% hoy",
    media_url="https://cdn.example.com/bf.jpg",
    media_type="image",
    audience=Audience(all_contacts=False, tags=("vip",), contact_ids=(7, 9)),
    whatsapp_template=WhatsAppTemplate("promo", "es", ("{nombre}", "20%")),
    scheduled_at=LATER,
)

T = TypeVar("T")


def outcome(run: Callable[[], T]) -> T | ValidationFailed:
    """What ``run`` returns, or the ``ValidationFailed`` it raises (any other error escapes)."""
    try:
        return run()
    except ValidationFailed as failure:
        return failure


def campaign(**fields: object) -> CampaignDraft:
    return validate_campaign({"name": "Promo", "message": "Hola", **fields}, now=NOW)


def refused(**fields: object) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as caught:
        validate_campaign({"name": "Promo", "message": "Hola", **fields}, now=NOW)
    return [(error.field, error.code) for error in caught.value.errors]


def changed(changes: dict[str, object], current: CampaignDraft = BLACK_FRIDAY) -> CampaignDraft:
    return apply_campaign_changes(current, changes, now=NOW)


def refused_change(
    changes: dict[str, object], current: CampaignDraft = BLACK_FRIDAY
) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as caught:
        apply_campaign_changes(current, changes, now=NOW)
    return [(error.field, error.code) for error in caught.value.errors]


def body_of(draft: CampaignDraft) -> dict[str, object]:
    """``draft`` as the API shows it (and a client sends it back)."""
    template = draft.whatsapp_template
    return {
        "name": draft.name,
        "channel": draft.channel,
        "subject": draft.subject,
        "message": draft.message,
        "media_url": draft.media_url,
        "media_type": draft.media_type,
        "audience": {
            "all_contacts": draft.audience.all_contacts,
            "tags": list(draft.audience.tags),
            "contact_ids": list(draft.audience.contact_ids),
        },
        "whatsapp_template": None
        if template is None
        else {
            "name": template.name,
            "language": template.language,
            "body_params": list(template.body_params),
        },
        "scheduled_at": None
        if draft.scheduled_at is None
        else draft.scheduled_at.isoformat().replace("+00:00", "Z"),
    }


# --- a new campaign -----------------------------------------------------------------------


def test_the_smallest_campaign_takes_the_defaults() -> None:
    assert validate_campaign({"name": " Promo ", "message": " Hola "}, now=NOW) == CampaignDraft(
        name="Promo",
        channel="whatsapp",
        subject=None,
        message="Hola",
        media_url=None,
        media_type=None,
        audience=Audience(False, (), ()),
        whatsapp_template=None,
        scheduled_at=None,
    )


def test_a_full_campaign_is_normalised() -> None:
    draft = validate_campaign(
        {
            "name": "Black Friday",
            "channel": "whatsapp",
            "message": "Hola {nombre}, 20% hoy",
            "media_url": " https://cdn.example.com/bf.jpg ",
            "media_type": "Image",
            "audience": {"tags": [" VIP ", "vip"], "contact_ids": [7, 9, 7]},
            "whatsapp_template": {
                "name": "Promo",
                "language": "es",
                "body_params": [" {nombre} ", "20%"],
            },
            "scheduled_at": "2026-11-27T13:00:00+01:00",
        },
        now=NOW,
    )
    assert draft == BLACK_FRIDAY
    assert draft.scheduled_at is not None
    assert draft.scheduled_at.tzinfo is UTC


def test_name_and_message_are_required() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_campaign({}, now=NOW)
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("name", "field.required"),
        ("message", "field.required"),
    ]
    for blank in (None, "", "  \n"):
        assert refused(name=blank) == [("name", "field.required")]
        assert refused(message=blank) == [("message", "field.required")]


def test_name_length() -> None:
    assert campaign(name="n" * 200).name == "n" * 200
    assert refused(name="n" * 201) == [("name", "field.too_long")]


def test_message_length_is_whatsapps() -> None:
    assert MESSAGE_MAX == 4096
    assert campaign(message="m" * MESSAGE_MAX).message == "m" * MESSAGE_MAX
    assert campaign(message="línea 1\nlínea 2\t{nombre}").message == "línea 1\nlínea 2\t{nombre}"
    assert refused(message="m" * (MESSAGE_MAX + 1)) == [("message", "field.too_long")]


def test_channel() -> None:
    assert campaign(channel="email", subject="Hola").channel == "email"
    for bad in ("Email", "sms", "", " whatsapp"):
        assert refused(channel=bad) == [("channel", "campaign.channel_invalid")]
    assert refused(channel=None) == [("channel", "field.required")]


def test_an_email_needs_a_subject() -> None:
    draft = campaign(channel="email", subject="  Hola {first_name}  ")
    assert draft.subject == "Hola {first_name}"
    for missing in ({}, {"subject": None}, {"subject": "   "}):
        assert refused(channel="email", **missing) == [("subject", "campaign.subject_required")]
    assert campaign(subject="kept for later").subject == "kept for later"  # WhatsApp ignores it


def test_subject_is_one_bounded_line() -> None:
    assert campaign(subject="s" * SUBJECT_MAX).subject == "s" * SUBJECT_MAX
    assert refused(subject="s" * (SUBJECT_MAX + 1)) == [("subject", "field.too_long")]
    for header_injection in ("Hola\r\nBcc: x@example.com", "Hola\nadiós"):
        assert refused(channel="email", subject=header_injection) == [
            ("subject", "field.invalid_characters")
        ]


def test_media_url_and_type_go_together() -> None:
    draft = campaign(media_url="http://example.com/a.pdf?x=1", media_type="document")
    assert (draft.media_url, draft.media_type) == ("http://example.com/a.pdf?x=1", "document")
    for media_type in ("image", "video", "document", "audio"):
        assert campaign(media_url="https://e.com/f", media_type=media_type).media_type == media_type
    assert refused(media_url="https://e.com/f") == [("media_type", "campaign.media_type_required")]
    assert refused(media_type="image") == [("media_url", "campaign.media_url_required")]
    assert campaign(media_url=None, media_type="").media_type is None


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/a.jpg",
        "javascript:alert(1)",
        "https://",
        "example.com/a.jpg",
        "https://exa mple.com/a.jpg",
        "https://example.com:99999/a.jpg",
        "http://[::1",
        "//example.com/a.jpg",
    ],
)
def test_a_media_url_is_an_http_url(url: str) -> None:
    assert refused(media_url=url, media_type="image") == [
        ("media_url", "campaign.media_url_invalid")
    ]


def test_media_rules() -> None:
    long_url = "https://e.com/" + "a" * MEDIA_URL_MAX
    assert refused(media_url=long_url, media_type="image") == [("media_url", "field.too_long")]
    assert refused(media_url="https://e.com/f", media_type="gif") == [
        ("media_type", "campaign.media_type_invalid")
    ]
    # A broken half is reported for itself, not as a missing partner.
    assert refused(media_url="nope", media_type=None) == [
        ("media_url", "campaign.media_url_invalid")
    ]


def test_audience_rules() -> None:
    draft = campaign(audience={"all_contacts": True, "tags": ["A", "a", " b "], "contact_ids": [3]})
    assert draft.audience == Audience(True, ("a", "b"), (3,))
    assert campaign(audience={"unknown": 1}).audience == Audience()
    assert campaign(audience=None).audience == Audience()
    assert campaign(audience={"contact_ids": [ID_MAX]}).audience.contact_ids == (ID_MAX,)
    assert refused(audience={"tags": ["x" * 41]}) == [("audience.tags", "contact.tag_too_long")]
    assert refused(audience={"tags": [f"t{i}" for i in range(21)]}) == [
        ("audience.tags", "contact.too_many_tags")
    ]
    assert refused(audience={"tags": ["a,b"]}) == [("audience.tags", "contact.tag_separator")]
    for bad_id in (0, -3, ID_MAX + 1):
        assert refused(audience={"contact_ids": [1, bad_id]}) == [
            ("audience.contact_ids", "campaign.contact_id_invalid")
        ]


def test_top_level_contact_ids_mean_the_audiences() -> None:
    assert campaign(contact_ids=[4, 5]).audience == Audience(contact_ids=(4, 5))
    draft = campaign(contact_ids=[4], audience={"tags": ["vip"]})
    assert draft.audience == Audience(tags=("vip",), contact_ids=(4,))
    # The audience's own ids win over the top-level ones.
    assert campaign(contact_ids=[4], audience={"contact_ids": [8]}).audience.contact_ids == (8,)
    assert refused(contact_ids="4,5") == [("audience.contact_ids", "field.wrong_type")]


def test_lift_contact_ids() -> None:
    assert lift_contact_ids({"name": "x"}) == {"name": "x"}
    assert lift_contact_ids({"contact_ids": [1]}) == {"audience": {"contact_ids": [1]}}
    assert lift_contact_ids({"contact_ids": [1], "audience": None}) == {
        "audience": {"all_contacts": False, "tags": [], "contact_ids": [1]}
    }
    assert lift_contact_ids({"contact_ids": [1], "audience": {"all_contacts": True}}) == {
        "audience": {"all_contacts": True, "contact_ids": [1]}
    }
    assert lift_contact_ids({"contact_ids": [1], "audience": "all"}) == {"audience": "all"}
    body: dict[str, object] = {"contact_ids": [1]}
    lift_contact_ids(body)
    assert body == {"contact_ids": [1]}  # the caller's body is left alone


def test_whatsapp_template_rules() -> None:
    template = campaign(
        whatsapp_template={"name": " black_friday_2 ", "language": "en-us"}
    ).whatsapp_template
    assert template == WhatsAppTemplate("black_friday_2", "en_US", ())
    assert campaign(whatsapp_template=None).whatsapp_template is None
    for language in ("es", "pt_BR", "fil", "ES_mx"):
        assert campaign(whatsapp_template={"name": "p", "language": language}).whatsapp_template
    assert refused(whatsapp_template={}) == [
        ("whatsapp_template.name", "field.required"),
        ("whatsapp_template.language", "field.required"),
    ]
    assert refused(
        whatsapp_template={"name": "promo navidad", "language": "spanish", "body_params": "x"}
    ) == [
        ("whatsapp_template.name", "campaign.template_name_invalid"),
        ("whatsapp_template.language", "campaign.template_language_invalid"),
        ("whatsapp_template.body_params", "field.wrong_type"),
    ]
    assert refused(whatsapp_template="promo") == [("whatsapp_template", "field.wrong_type")]


@pytest.mark.parametrize(
    ("param", "code"),
    [
        ("a\nb", "campaign.template_param_invalid"),
        ("a\tb", "campaign.template_param_invalid"),
        ("a     b", "campaign.template_param_invalid"),
        ("  ", "field.required"),
        (3, "field.wrong_type"),
        ("p" * (TEMPLATE_PARAM_MAX + 1), "field.too_long"),
        ("a\x00", "field.invalid_characters"),
    ],
)
def test_template_params(param: object, code: str) -> None:
    template = {"name": "promo", "language": "es", "body_params": ["ok", param]}
    assert refused(whatsapp_template=template) == [("whatsapp_template.body_params", code)]


def test_scheduled_at_is_an_instant_in_the_future() -> None:
    assert campaign(scheduled_at="2026-11-26T12:00:01Z").scheduled_at == NOW + timedelta(seconds=1)
    assert campaign(scheduled_at="2026-11-26 14:30+02:00").scheduled_at == NOW + timedelta(
        minutes=30
    )
    assert campaign(scheduled_at=LATER).scheduled_at == LATER
    assert campaign(scheduled_at=None).scheduled_at is None
    assert refused(scheduled_at="2026-11-26T12:00:00Z") == [
        ("scheduled_at", "campaign.scheduled_at_past")
    ]
    assert refused(scheduled_at="2020-01-01T00:00:00Z") == [
        ("scheduled_at", "campaign.scheduled_at_past")
    ]


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("2026-11-27T10:00:00", "campaign.scheduled_at_timezone_required"),
        ("2026-11-27T10:00", "campaign.scheduled_at_timezone_required"),  # <input datetime-local>
        (datetime(2026, 11, 27, 10), "campaign.scheduled_at_timezone_required"),
        ("mañana", "campaign.scheduled_at_invalid"),
        ("2026-11-27", "campaign.scheduled_at_invalid"),
        ("2026-02-30T10:00:00Z", "campaign.scheduled_at_invalid"),
        ("2026-11-27T10:00:00+24:00", "campaign.scheduled_at_invalid"),
        ("9999-12-31T23:59:59-01:00", "campaign.scheduled_at_invalid"),
        ("٢٠٢٦-11-27T10:00:00Z", "campaign.scheduled_at_invalid"),
        (1764237600, "field.wrong_type"),
    ],
)
def test_scheduled_at_refusals(value: object, code: str) -> None:
    assert refused(scheduled_at=value) == [("scheduled_at", code)]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", 7),
        ("channel", ["whatsapp"]),
        ("subject", 1.5),
        ("message", {"text": "hola"}),
        ("media_url", True),
        ("media_type", 1),
        ("audience", ["vip"]),
        ("audience.all_contacts", "true"),
        ("audience.all_contacts", 1),
        ("audience.tags", "vip"),
        ("audience.tags", ["vip", 3]),
        ("audience.contact_ids", [1, "2"]),
        ("audience.contact_ids", [1, True]),
        ("audience.contact_ids", [1.0]),
        ("audience.contact_ids", 1),
        ("whatsapp_template", "promo"),
        ("whatsapp_template.name", 5),
        ("whatsapp_template.language", ["es"]),
        ("scheduled_at", 3),
    ],
)
def test_wrong_json_types(field: str, value: object) -> None:
    top, _, key = field.partition(".")
    written: object = value
    if key == "name" or key == "language":
        written = {"name": "promo", "language": "es", key: value}
    elif key:
        written = {key: value}
    assert refused(**{top: written}) == [(field, "field.wrong_type")]


def test_control_characters_are_refused() -> None:
    assert refused(name="Pro\x00mo", message="Hola\x1b") == [
        ("name", "field.invalid_characters"),
        ("message", "field.invalid_characters"),
    ]


def test_every_bad_field_is_reported_at_once() -> None:
    assert refused(
        name="",
        channel="sms",
        subject="s" * 300,
        message="m" * 5000,
        media_url="ftp://x",
        media_type="gif",
        audience={"all_contacts": "yes", "tags": ["t" * 41], "contact_ids": [0]},
        whatsapp_template={"name": "Promo!"},
        scheduled_at="yesterday",
    ) == [
        ("name", "field.required"),
        ("channel", "campaign.channel_invalid"),
        ("subject", "field.too_long"),
        ("message", "field.too_long"),
        ("media_url", "campaign.media_url_invalid"),
        ("media_type", "campaign.media_type_invalid"),
        ("audience.all_contacts", "field.wrong_type"),
        ("audience.tags", "contact.tag_too_long"),
        ("audience.contact_ids", "campaign.contact_id_invalid"),
        ("whatsapp_template.name", "campaign.template_name_invalid"),
        ("whatsapp_template.language", "field.required"),
        ("scheduled_at", "campaign.scheduled_at_invalid"),
    ]


def test_status_read_only_and_unknown_keys_are_ignored() -> None:
    body = {
        "status": "active",
        "id": 99,
        "user_id": 2,
        "sent_count": 1000,
        "created_at": "2020-01-01T00:00:00Z",
        "whatever": [1, 2],
    }
    assert campaign(**body) == campaign()
    assert set(CAMPAIGN_FIELDS) == {
        "name",
        "channel",
        "subject",
        "message",
        "media_url",
        "media_type",
        "audience",
        "whatsapp_template",
        "scheduled_at",
    }


# --- /schedule ----------------------------------------------------------------------------


def test_check_schedule_time() -> None:
    assert check_schedule_time("2026-11-27T12:00:00Z", now=NOW) == LATER
    madrid = timezone(timedelta(hours=1))
    assert check_schedule_time(datetime(2026, 11, 27, 13, tzinfo=madrid), now=NOW) == LATER
    for value, code in [
        (None, "field.required"),
        ("2026-11-26T11:59:59Z", "campaign.scheduled_at_past"),
        (NOW, "campaign.scheduled_at_past"),
        ("soon", "campaign.scheduled_at_invalid"),
        ("2026-11-27T12:00", "campaign.scheduled_at_timezone_required"),
        (12, "field.wrong_type"),
    ]:
        with pytest.raises(ValidationFailed) as caught:
            check_schedule_time(value, now=NOW)
        assert [(e.field, e.code) for e in caught.value.errors] == [("scheduled_at", code)]


# --- partial writes -----------------------------------------------------------------------


def test_absent_fields_keep_their_values() -> None:
    assert changed({}) == BLACK_FRIDAY
    assert changed({"name": " Cyber Monday "}) == dataclasses.replace(
        BLACK_FRIDAY, name="Cyber Monday"
    )


def test_each_field_can_be_written() -> None:
    draft = changed(
        {
            "channel": "email",
            "subject": "Hola {nombre}",
            "message": "Otro texto",
            "media_url": "https://cdn.example.com/v.mp4",
            "media_type": "video",
            "audience": {"all_contacts": True},
            "whatsapp_template": {"name": "otra", "language": "es_MX", "body_params": []},
            "scheduled_at": "2026-12-01T09:00:00Z",
        }
    )
    assert draft == CampaignDraft(
        name="Black Friday",
        channel="email",
        subject="Hola {nombre}",
        message="Otro texto",
        media_url="https://cdn.example.com/v.mp4",
        media_type="video",
        audience=Audience(True, ("vip",), (7, 9)),
        whatsapp_template=WhatsAppTemplate("otra", "es_MX", ()),
        scheduled_at=datetime(2026, 12, 1, 9, tzinfo=UTC),
    )


def test_null_clears_the_optional_fields() -> None:
    cleared = changed(
        {"media_url": None, "media_type": None, "whatsapp_template": None, "scheduled_at": None}
    )
    assert (cleared.media_url, cleared.media_type) == (None, None)
    assert (cleared.whatsapp_template, cleared.scheduled_at) == (None, None)
    assert changed({"audience": None}).audience == Audience()


@pytest.mark.parametrize("field", ["name", "channel", "message"])
def test_null_is_refused_where_a_value_is_required(field: str) -> None:
    assert refused_change({field: None}) == [(field, "field.required")]


def test_the_audience_merges_key_by_key() -> None:
    assert changed({"audience": {"tags": ["nuevo"]}}).audience == Audience(
        False, ("nuevo",), (7, 9)
    )
    assert changed({"audience": {"contact_ids": None}}).audience == Audience(False, ("vip",), ())
    assert changed({"contact_ids": [1]}).audience == Audience(False, ("vip",), (1,))
    assert changed({"contact_ids": [1], "audience": None}).audience == Audience(contact_ids=(1,))


def test_rules_between_fields_hold_on_the_result() -> None:
    assert refused_change({"channel": "email"}) == [("subject", "campaign.subject_required")]
    email = changed({"channel": "email", "subject": "Hola"})
    assert refused_change({"subject": None}, email) == [("subject", "campaign.subject_required")]
    assert refused_change({"media_type": None}) == [("media_type", "campaign.media_type_required")]
    assert refused_change({"media_url": ""}) == [("media_url", "campaign.media_url_required")]
    assert changed({"media_url": None, "media_type": None}).media_url is None


def test_a_schedule_written_again_is_not_refused_for_having_passed() -> None:
    past = dataclasses.replace(BLACK_FRIDAY, scheduled_at=NOW - timedelta(hours=1))
    assert changed({"scheduled_at": "2026-11-26T11:00:00Z"}, past) == past
    assert changed({"scheduled_at": "2026-11-26T12:00:00+01:00"}, past) == past
    assert refused_change({"scheduled_at": "2026-11-26T11:30:00Z"}, past) == [
        ("scheduled_at", "campaign.scheduled_at_past")
    ]


def test_every_bad_change_is_reported_at_once_and_nothing_changes() -> None:
    assert refused_change(
        {
            "name": 3,
            "channel": "fax",
            "media_type": "gif",
            "audience": {"contact_ids": [-1]},
            "scheduled_at": "2026-11-25T00:00:00Z",
            "status": "active",
        }
    ) == [
        ("name", "field.wrong_type"),
        ("channel", "campaign.channel_invalid"),
        ("media_type", "campaign.media_type_invalid"),
        ("audience.contact_ids", "campaign.contact_id_invalid"),
        ("scheduled_at", "campaign.scheduled_at_past"),
    ]


# --- the stored campaign ------------------------------------------------------------------


def test_a_stored_campaign_is_revised_with_a_draft() -> None:
    stored = Campaign(
        id=4,
        user_id=1,
        name="Black Friday",
        channel="whatsapp",
        subject=None,
        message="Hola",
        media_url=None,
        media_type=None,
        audience=Audience(),
        whatsapp_template=None,
        status="draft",
        scheduled_at=None,
        sent_at=None,
        completed_at=None,
        created_at=NOW,
        updated_at=NOW,
    )
    assert stored.total_recipients == stored.pending_count == stored.skipped_count == 0
    later = NOW + timedelta(minutes=5)
    updated = revised(stored, BLACK_FRIDAY, later)
    assert updated.draft == BLACK_FRIDAY
    assert (updated.id, updated.status, updated.created_at) == (4, "draft", NOW)
    assert updated.updated_at == later


# --- properties ---------------------------------------------------------------------------

_JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40)
)
_JSON = st.recursive(
    _JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
_TEXT_LIKE = st.one_of(
    st.sampled_from(
        [
            "whatsapp",
            "email",
            "image",
            "https://e.com/a.jpg",
            "2026-12-01T10:00:00Z",
            "2026-12-01T10:00",
            "es",
            "promo",
        ]
    ),
    st.text(max_size=20),
)
_AUDIENCE = st.dictionaries(
    st.sampled_from(["all_contacts", "tags", "contact_ids", "other"]),
    st.one_of(
        _JSON,
        st.lists(st.one_of(st.integers(), st.text(max_size=8)), max_size=5),
    ),
    max_size=4,
)
_TEMPLATE = st.dictionaries(
    st.sampled_from(["name", "language", "body_params", "other"]),
    st.one_of(_JSON, _TEXT_LIKE, st.lists(_TEXT_LIKE, max_size=4)),
    max_size=4,
)
_SCALAR_OR_TEXT = st.one_of(_JSON, _TEXT_LIKE)
# Every key optional, each with values of every JSON kind and of the shapes its rules expect.
_BODIES = st.fixed_dictionaries(
    {},
    optional={
        **{
            name: _SCALAR_OR_TEXT
            for name in [*sorted(CAMPAIGN_FIELDS - {"audience", "whatsapp_template"}), "status"]
        },
        "audience": st.one_of(_AUDIENCE, _JSON),
        "whatsapp_template": st.one_of(_TEMPLATE, _JSON),
        "contact_ids": st.one_of(st.lists(st.integers(), max_size=4), _JSON),
        "id": _JSON,
    },
)


@given(_BODIES)
def test_validation_never_raises_anything_but_validation_failed(body: dict[str, object]) -> None:
    draft = outcome(lambda: validate_campaign(body, now=NOW))
    if isinstance(draft, ValidationFailed):
        assert draft.errors
        return
    assert 1 <= len(draft.name) <= 200
    assert 1 <= len(draft.message) <= MESSAGE_MAX
    assert draft.channel != "email" or draft.subject is not None
    assert (draft.media_url is None) == (draft.media_type is None)
    assert draft.scheduled_at is None or draft.scheduled_at > NOW


@given(_BODIES)
def test_partial_writes_never_raise_anything_but_validation_failed(
    changes: dict[str, object],
) -> None:
    draft = outcome(lambda: apply_campaign_changes(BLACK_FRIDAY, changes, now=NOW))
    if isinstance(draft, ValidationFailed):
        assert draft.errors
        return
    untouched = (
        CAMPAIGN_FIELDS - changes.keys() - ({"audience"} if "contact_ids" in changes else set())
    )
    for field in untouched:
        assert getattr(draft, field) == getattr(BLACK_FRIDAY, field)


_NAMES = st.text(min_size=1, max_size=30).filter(lambda s: s.strip())
_PARAMS = st.text(alphabet="abc {}%ñ0", min_size=1, max_size=12).filter(
    lambda s: s.strip() and "     " not in s
)


@st.composite
def valid_bodies(draw: st.DrawFn) -> dict[str, object]:
    """Bodies of every shape a valid campaign can have (some may still break a rule)."""
    channel = draw(st.sampled_from(["whatsapp", "email"]))
    body: dict[str, object] = {
        "name": draw(_NAMES),
        "channel": channel,
        "message": draw(st.text(min_size=1, max_size=60)),
        "subject": draw(st.one_of(st.none(), _NAMES)) if channel == "whatsapp" else draw(_NAMES),
    }
    if draw(st.booleans()):
        body["media_url"] = draw(st.sampled_from(["https://e.com/a.jpg", "http://x.org/v?a=1"]))
        body["media_type"] = draw(st.sampled_from(["image", "video", "document", "audio"]))
    body["audience"] = {
        "all_contacts": draw(st.booleans()),
        "tags": draw(st.lists(st.text(alphabet="abcXYZ ñ", max_size=6), max_size=5)),
        "contact_ids": draw(st.lists(st.integers(1, ID_MAX), max_size=5)),
    }
    if draw(st.booleans()):
        body["whatsapp_template"] = {
            "name": draw(st.from_regex(r"[a-z0-9_]{1,20}", fullmatch=True)),
            "language": draw(st.sampled_from(["es", "en_US", "pt-br", "fil"])),
            "body_params": draw(st.lists(_PARAMS, max_size=3)),
        }
    if draw(st.booleans()):
        offset = timezone(timedelta(minutes=draw(st.integers(-12 * 60, 14 * 60))))
        moment = NOW + timedelta(seconds=draw(st.integers(1, 10**8)))
        body["scheduled_at"] = moment.astimezone(offset).isoformat()
    return body


@given(valid_bodies(), st.datetimes(timezones=st.just(UTC)))
def test_valid_drafts_round_trip_through_a_partial_write(
    body: dict[str, object], later: datetime
) -> None:
    draft = outcome(lambda: validate_campaign(body, now=NOW))
    if isinstance(draft, ValidationFailed):
        return  # e.g. control characters in the generated text
    shown = body_of(draft)
    # Sent back whole, at any time, a campaign comes back the same...
    assert apply_campaign_changes(draft, shown, now=later) == draft
    # ... and so does a new campaign made of it, while its schedule is still ahead.
    assert validate_campaign(shown, now=NOW) == draft
    assert validate_campaign(lift_contact_ids(shown), now=NOW) == draft


# Zones since 1980: RFC 3339 offsets are whole minutes, unlike some local mean times of old.
_MODERN = st.datetimes(
    min_value=datetime(1980, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.timezones()
)


@settings(max_examples=50)
@given(_MODERN)
def test_an_aware_instant_reads_back_as_itself(moment: datetime) -> None:
    # Compared in UTC: Python never finds a time in a DST gap equal to one of another zone.
    parsed = parse_instant(moment.isoformat())
    assert parsed == moment.astimezone(UTC)
    assert parsed.tzinfo is UTC
    assert parse_instant(moment) == parsed
