"""Campaigns: one message sent to an audience of a user's contacts, and the rules its writable
fields must pass (the status machine lives in ``campaign_status``).

Field rules, as API.md's "Campaigns" section asks and where it is silent:

- ``name`` required, trimmed, 1 to ``NAME_MAX`` (200) characters, like a contact's.
- ``channel`` ``whatsapp`` (the default) or ``email``.
- ``subject`` optional (null or blank clears it), at most ``SUBJECT_MAX`` characters, on one
  line (it becomes an email header); required when the channel is ``email``.
- ``message`` required, at most ``MESSAGE_MAX`` = 4096 characters: the longest text body the
  WhatsApp Cloud API sends, applied to email too so that a campaign can change channel.
- ``media_url`` (an ``http``/``https`` URL) and ``media_type`` (``image|video|document|audio``)
  go together: both or neither.
- ``audience`` is ``{all_contacts, tags, contact_ids}``, an ``audience.Audience`` (tags
  normalised like a contact's, ids positive and de-duplicated). In a partial write it merges
  like a JSON merge patch: the keys sent replace theirs, the others keep their value, ``null``
  (for the audience or one key) resets to empty. A top-level ``contact_ids`` means
  ``audience.contact_ids`` (see ``lift_contact_ids``). Whether the ids are the user's own is
  the use case's question (it needs the repository).
- ``whatsapp_template`` ``{name, language, body_params}`` is replaced whole (its parameters
  belong to one template); ``null`` clears it.
- ``scheduled_at`` an RFC 3339 timestamp with its offset (or an aware ``datetime``), stored in
  UTC; a value written must lie after ``now``, unless it is the campaign's current one.

Field errors name the field by its dotted path (``audience.tags``). Fields that are not
writable (``status``, ``id``, counters, timestamps) and unknown ones are ignored.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from nexus_core.domain.audience import CHANNELS, Audience, Channel
from nexus_core.domain.campaign_status import CampaignStatus
from nexus_core.domain.contacts import normalise_tags
from nexus_core.domain.identifiers import could_exist
from nexus_core.domain.text import NAME_MAX, check_text_type, optional_text, required_text
from nexus_core.domain.written_fields import check_written_fields
from nexus_core.errors import Collector, ValidationFailed

MediaType = Literal["image", "video", "document", "audio"]
MEDIA_TYPES: tuple[MediaType, ...] = ("image", "video", "document", "audio")

SUBJECT_MAX = 200  # API.md: user and campaign name, company, subject at most 200
MESSAGE_MAX = 4096  # the WhatsApp Cloud API's limit for a text message's body
MEDIA_URL_MAX = 2048
TEMPLATE_NAME_MAX = 512  # Meta's limit for a message template's name
TEMPLATE_PARAM_MAX = 1024  # a template's whole body is at most 1024 characters

# Meta names templates in lower case, digits and underscores; languages as ``es``, ``en_US``.
_TEMPLATE_NAME = re.compile(r"[a-z0-9_]+")
_TEMPLATE_LANGUAGE = re.compile(r"[a-z]{2,3}(?:_[A-Z]{2})?")
# The Cloud API refuses a template parameter holding a line break, a tab or more than four
# spaces in a row (error 132018): refused here, when the user can still fix it.
_BAD_TEMPLATE_PARAM = re.compile(r"[\r\n\t]| {5}")
# RFC 3339 (seconds optional, ``T``, ``t`` or a space between date and time); the offset is
# matched apart so that its absence has a message of its own.
_TIMESTAMP = re.compile(
    r"(?P<local>[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?)"
    r"(?P<offset>[Zz]|[+-][0-9]{2}:[0-9]{2})?"
)


@dataclass(frozen=True, slots=True)
class WhatsAppTemplate:
    """An approved WhatsApp message template; ``body_params`` may hold placeholders
    (``{nombre}``), rendered per contact."""

    name: str
    language: str
    body_params: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignDraft:
    """A campaign's writable fields, validated and normalised."""

    name: str
    channel: Channel = "whatsapp"
    subject: str | None = None
    message: str
    media_url: str | None = None
    media_type: MediaType | None = None
    audience: Audience = dataclasses.field(default_factory=Audience)
    whatsapp_template: WhatsAppTemplate | None = None
    scheduled_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Campaign:
    """A stored campaign: its writable fields, its owner, status, times and delivery counts.

    Each delivery counts once in ``pending_count``, ``sent_count`` (sent, delivered or read),
    ``failed_count`` or ``skipped_count``, which add up to ``total_recipients``;
    ``delivered_count`` (delivered or read), ``opened_count`` (read) and ``clicked_count`` are
    parts of ``sent_count``.
    """

    id: int
    user_id: int
    name: str
    channel: Channel
    subject: str | None
    message: str
    media_url: str | None
    media_type: MediaType | None
    audience: Audience
    whatsapp_template: WhatsAppTemplate | None
    status: CampaignStatus
    scheduled_at: datetime | None
    sent_at: datetime | None
    completed_at: datetime | None
    total_recipients: int = 0
    pending_count: int = 0
    sent_count: int = 0
    delivered_count: int = 0
    opened_count: int = 0
    clicked_count: int = 0
    failed_count: int = 0
    skipped_count: int = 0
    created_at: datetime
    updated_at: datetime

    @property
    def draft(self) -> CampaignDraft:
        """The writable fields alone."""
        return CampaignDraft(
            name=self.name,
            channel=self.channel,
            subject=self.subject,
            message=self.message,
            media_url=self.media_url,
            media_type=self.media_type,
            audience=self.audience,
            whatsapp_template=self.whatsapp_template,
            scheduled_at=self.scheduled_at,
        )


def revised(campaign: Campaign, draft: CampaignDraft, now: datetime) -> Campaign:
    """``campaign`` with the writable fields of ``draft``, updated ``now``."""
    return dataclasses.replace(
        campaign,
        name=draft.name,
        channel=draft.channel,
        subject=draft.subject,
        message=draft.message,
        media_url=draft.media_url,
        media_type=draft.media_type,
        audience=draft.audience,
        whatsapp_template=draft.whatsapp_template,
        scheduled_at=draft.scheduled_at,
        updated_at=now,
    )


# --- one field at a time ------------------------------------------------------------------


def _invalid(code: str, **params: Any) -> ValidationFailed:
    return ValidationFailed.single("", code, **params)


def _name(value: object) -> str:
    return required_text(check_text_type(value), max_length=NAME_MAX)


def _channel(value: object) -> Channel:
    if not isinstance(value, str):
        raise _invalid("field.wrong_type")
    if value not in CHANNELS:
        raise _invalid("campaign.channel_invalid", allowed=CHANNELS)
    return value


def _subject(value: object) -> str | None:
    subject = optional_text(check_text_type(value), max_length=SUBJECT_MAX)
    if subject is not None and ("\r" in subject or "\n" in subject):
        raise _invalid("field.invalid_characters")
    return subject


def _message(value: object) -> str:
    return required_text(check_text_type(value), max_length=MESSAGE_MAX)


def _media_url(value: object) -> str | None:
    url = optional_text(check_text_type(value), max_length=MEDIA_URL_MAX)
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not one
    except ValueError:
        raise _invalid("campaign.media_url_invalid") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or _has_space(url):
        raise _invalid("campaign.media_url_invalid")
    return url


def _has_space(text: str) -> bool:
    return any(character.isspace() for character in text)


def _media_type(value: object) -> MediaType | None:
    if not isinstance(value, str):
        raise _invalid("field.wrong_type")
    media_type = value.strip().lower()
    if not media_type:
        return None
    if media_type not in MEDIA_TYPES:
        raise _invalid("campaign.media_type_invalid", allowed=MEDIA_TYPES)
    return media_type


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise _invalid("field.wrong_type")
    return value


def _tags(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise _invalid("field.wrong_type")
    return normalise_tags(value)


def _contact_ids(value: object) -> tuple[int, ...]:
    """Positive ids that could name a stored contact, de-duplicated in first-seen order."""
    if not isinstance(value, list | tuple):
        raise _invalid("field.wrong_type")
    ids: dict[int, None] = {}
    for item in value:
        if not isinstance(item, int) or isinstance(item, bool):
            raise _invalid("field.wrong_type")
        if not could_exist(item):
            raise _invalid("campaign.contact_id_invalid", id=item)
        ids[item] = None
    return tuple(ids)


def _template_name(value: object) -> str:
    name = required_text(check_text_type(value), max_length=TEMPLATE_NAME_MAX).lower()
    if not _TEMPLATE_NAME.fullmatch(name):
        raise _invalid("campaign.template_name_invalid")
    return name


def _template_language(value: object) -> str:
    """A Meta locale code: ``es``, ``en_US`` (``en-us`` is read as ``en_US``)."""
    text = required_text(check_text_type(value), max_length=16).replace("-", "_")
    language, _, region = text.partition("_")
    code = f"{language.lower()}_{region.upper()}" if region else language.lower()
    if not _TEMPLATE_LANGUAGE.fullmatch(code):
        raise _invalid("campaign.template_language_invalid")
    return code


def _template_params(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise _invalid("field.wrong_type")
    params: list[str] = []
    for item in value:
        param = required_text(check_text_type(item), max_length=TEMPLATE_PARAM_MAX)
        if _BAD_TEMPLATE_PARAM.search(param):
            raise _invalid("campaign.template_param_invalid")
        params.append(param)
    return tuple(params)


def parse_instant(value: object) -> datetime:
    """An RFC 3339 timestamp (or an aware ``datetime``) in UTC, else a field error:
    ``campaign.scheduled_at_timezone_required`` without an offset,
    ``campaign.scheduled_at_invalid`` for anything else that is not an instant."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        match = _TIMESTAMP.fullmatch(value.strip())
        if match is None:
            raise _invalid("campaign.scheduled_at_invalid")
        if match["offset"] is None:
            raise _invalid("campaign.scheduled_at_timezone_required")
        try:
            moment = datetime.fromisoformat(match["local"].upper() + match["offset"].upper())
        except ValueError:
            raise _invalid("campaign.scheduled_at_invalid") from None
    else:
        raise _invalid("field.wrong_type")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _invalid("campaign.scheduled_at_timezone_required")
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # an offset pushing year 1 or 9999 out of range
        raise _invalid("campaign.scheduled_at_invalid") from None


def _future(moment: datetime, now: datetime) -> datetime:
    if moment <= now:
        raise _invalid("campaign.scheduled_at_past")
    return moment


def check_schedule_time(value: object, *, now: datetime) -> datetime:
    """The ``scheduled_at`` of a ``/schedule`` request: required, an instant after ``now``
    (in UTC); else a ``scheduled_at`` field error."""
    if value is None:
        raise ValidationFailed.single("scheduled_at", "field.required")
    try:
        return _future(parse_instant(value), now)
    except ValidationFailed as failure:
        raise ValidationFailed.single("scheduled_at", failure.errors[0].code) from None


# --- whole bodies -------------------------------------------------------------------------

# Each plain field's rule, in the order errors are reported (audience, template and schedule,
# which report under dotted paths or depend on the current value, are handled apart).
# Each rule takes the value and a context it has no use for (``check_written_fields``).
_PLAIN_RULES: dict[str, Callable[[object, None], object]] = {
    "name": lambda value, _: _name(value),
    "channel": lambda value, _: _channel(value),
    "subject": lambda value, _: _subject(value),
    "message": lambda value, _: _message(value),
    "media_url": lambda value, _: _media_url(value),
    "media_type": lambda value, _: _media_type(value),
}
CAMPAIGN_FIELDS = frozenset({*_PLAIN_RULES, "audience", "whatsapp_template", "scheduled_at"})
# Plain fields that null clears; the others refuse it.
_CLEARABLE = frozenset({"subject", "media_url", "media_type"})
_AUDIENCE_RULES: dict[str, Callable[[object], object]] = {
    "all_contacts": _flag,
    "tags": _tags,
    "contact_ids": _contact_ids,
}


def lift_contact_ids(body: Mapping[str, object]) -> dict[str, object]:
    """``body`` with a top-level ``contact_ids`` (as the first frontend sent it) moved into
    ``audience.contact_ids``.

    An ``audience`` that names its own ``contact_ids`` wins (the top-level ones are dropped);
    an ``audience`` of ``null`` still clears the rest of the audience; an ``audience`` that is
    not an object is left alone, to be reported as such.
    """
    lifted = dict(body)
    if "contact_ids" not in lifted:
        return lifted
    ids = lifted.pop("contact_ids")
    audience = lifted.get("audience")
    if "audience" not in lifted:
        lifted["audience"] = {"contact_ids": ids}
    elif audience is None:
        lifted["audience"] = {"all_contacts": False, "tags": [], "contact_ids": ids}
    elif isinstance(audience, Mapping) and "contact_ids" not in audience:
        lifted["audience"] = {**audience, "contact_ids": ids}
    return lifted


def _audience(value: object, current: Audience, errors: Collector) -> Audience:
    """``current`` with the keys of ``value`` merged in (``null`` resets to empty)."""
    if value is None:
        return Audience()
    if not isinstance(value, Mapping):
        errors.add("audience", "field.wrong_type")
        return current
    clean: dict[str, Any] = {}
    for key, rule in _AUDIENCE_RULES.items():
        if key not in value:
            continue
        if value[key] is None:
            clean[key] = getattr(Audience(), key)
            continue
        clean[key] = errors.check(f"audience.{key}", lambda rule=rule, raw=value[key]: rule(raw))
    return dataclasses.replace(current, **clean)


def _given(value: Mapping[str, object], key: str) -> object:
    """``value[key]``; a missing or null one is a ``field.required`` error."""
    if value.get(key) is None:
        raise _invalid("field.required")
    return value[key]


def _template(value: object, errors: Collector) -> WhatsAppTemplate | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        errors.add("whatsapp_template", "field.wrong_type")
        return None
    before = len(errors.errors)
    name = errors.check("whatsapp_template.name", lambda: _template_name(_given(value, "name")))
    language = errors.check(
        "whatsapp_template.language", lambda: _template_language(_given(value, "language"))
    )
    params = value.get("body_params")
    body_params = (
        errors.check("whatsapp_template.body_params", lambda: _template_params(params))
        if params is not None
        else ()
    )
    if len(errors.errors) > before:
        return None
    return WhatsAppTemplate(name, language, body_params)


def _schedule(value: object, current: datetime | None, now: datetime) -> datetime | None:
    if value is None:
        return None
    moment = parse_instant(value)
    return moment if moment == current else _future(moment, now)


def _check_fields(
    written: Mapping[str, object], current: CampaignDraft | None, now: datetime, errors: Collector
) -> dict[str, Any]:
    """The clean value of each written writable field; broken rules go to ``errors``."""
    clean = check_written_fields(written, _PLAIN_RULES, _CLEARABLE, None, errors)
    if "audience" in written:
        base = current.audience if current is not None else Audience()
        clean["audience"] = _audience(written["audience"], base, errors)
    if "whatsapp_template" in written:
        clean["whatsapp_template"] = _template(written["whatsapp_template"], errors)
    if "scheduled_at" in written:
        scheduled = current.scheduled_at if current is not None else None
        clean["scheduled_at"] = errors.check(
            "scheduled_at", lambda: _schedule(written["scheduled_at"], scheduled, now)
        )
    return clean


def _check_together(fields: Mapping[str, Any], errors: Collector) -> None:
    """The rules between fields, on the campaign as it would be; a field that already broke a
    rule of its own is not blamed again."""
    failed = {error.field for error in errors.errors}
    email_without_subject = fields["channel"] == "email" and fields["subject"] is None
    if email_without_subject and not {"channel", "subject"} & failed:
        errors.add("subject", "campaign.subject_required")
    if not {"media_url", "media_type"} & failed:
        if fields["media_url"] is not None and fields["media_type"] is None:
            errors.add("media_type", "campaign.media_type_required")
        if fields["media_type"] is not None and fields["media_url"] is None:
            errors.add("media_url", "campaign.media_url_required")


def validate_campaign(body: Mapping[str, object], *, now: datetime) -> CampaignDraft:
    """A new campaign's fields from a raw body (as decoded from JSON); every bad field is
    reported at once. ``name`` and ``message`` are required; a ``scheduled_at`` must lie after
    ``now``. Keys that are not writable fields are ignored."""
    written = lift_contact_ids(body)
    errors = Collector()
    clean = _check_fields(written, None, now, errors)
    for required in ("name", "message"):
        if required not in written:
            errors.add(required, "field.required")
    fields: dict[str, Any] = {
        "channel": "whatsapp",
        "subject": None,
        "media_url": None,
        "media_type": None,
        **clean,
    }
    _check_together(fields, errors)
    errors.raise_if_any()
    return CampaignDraft(**fields)


def apply_campaign_changes(
    current: CampaignDraft, changes: Mapping[str, object], *, now: datetime
) -> CampaignDraft:
    """The campaign's fields after a partial write; every bad field is reported at once.

    Absent fields keep their value; null clears ``subject``, the media, the template or the
    schedule (the audience merges: see the module's docstring). A ``scheduled_at`` written
    must lie after ``now`` unless it equals the current one (a client sending the whole
    campaign back is not refused for a time that has since passed). Whether the campaign's
    status allows the change is ``campaign_status.ensure_editable``'s question, to ask when
    the result differs from ``current``.
    """
    errors = Collector()
    clean = _check_fields(lift_contact_ids(changes), current, now, errors)
    fields: dict[str, Any] = {
        "name": current.name,
        "channel": current.channel,
        "subject": current.subject,
        "message": current.message,
        "media_url": current.media_url,
        "media_type": current.media_type,
        "audience": current.audience,
        "whatsapp_template": current.whatsapp_template,
        "scheduled_at": current.scheduled_at,
        **clean,
    }
    _check_together(fields, errors)
    errors.raise_if_any()
    return CampaignDraft(**fields)
