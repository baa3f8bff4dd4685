"""AI automation: its status and switch, the record of its exchanges, Gemini's dry runs
(``test-response``) and campaign drafts, and the dispatch workers' round of AI replies.

The round: expired leases are reaped (``unknown_outcome``: a reply may have left, so it is
never sent again), pending activities are claimed (paced per user), and for each one Gemini
is asked and the reply sent through WhatsApp outside any unit of work, then the outcome is
recorded, with the reply stored in the conversation when it left. A Gemini failure sends
nothing and is recorded as the activity's error (``gemini_<code>``); a channel failure too
(``whatsapp_<code>``). Nothing is retried by itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, time
from zoneinfo import ZoneInfo

from nexus_core.domain.audience import CHANNELS, Channel
from nexus_core.domain.automation import (
    AUTO_REPLIES_PER_MINUTE,
    AUTOMATION_OFF,
    ActivityStatus,
    AutomationStatus,
    BotActivity,
    ClaimedReply,
    cap_reply,
    is_configured,
    replies_automatically,
)
from nexus_core.domain.automation_prompts import (
    BRIEF_MAX,
    HISTORY_MESSAGES,
    TONE_MAX,
    clean_draft,
    draft_request,
    reply_request,
)
from nexus_core.domain.contact_queries import parse_page_request
from nexus_core.domain.conversations import WHATSAPP_TEXT_MAX
from nexus_core.domain.outbound import ChannelAccount, OutboundMessage, SendResult
from nexus_core.domain.pagination import Page
from nexus_core.domain.text import optional_text, required_text
from nexus_core.domain.text_generator import Generation, GenerationRequest
from nexus_core.domain.users import User
from nexus_core.errors import Collector, NotFound, RuleRefused, UpstreamFailed, ValidationFailed
from nexus_core.ports import MessageChannel
from nexus_core.use_cases.context import Ports
from nexus_core.use_cases.dispatch import ErrorHook, Mapper, serial_map


def _user(ports: Ports, user_id: int) -> User:
    with ports.uow() as uow:
        user = uow.users.get(user_id)
    if user is None:
        raise NotFound("resource.not_found")
    return user


def start_of_today(now: datetime, timezone: str) -> datetime:
    """Midnight of ``now``'s day in ``timezone`` (the user's), as an aware time."""
    zone = ZoneInfo(timezone)
    return datetime.combine(now.astimezone(zone).date(), time(), tzinfo=zone)


def automation_status(ports: Ports, user_id: int) -> AutomationStatus:
    """Whether the automation is on and configured, and today's replies and failures (the
    day in the user's timezone)."""
    user = _user(ports, user_id)
    since = start_of_today(ports.clock(), user.preferences.timezone)
    with ports.uow() as uow:
        replies, failures = uow.automation.outcomes_since(user_id, since)
    credentials = user.credentials
    return AutomationStatus(
        enabled=credentials.gemini_auto_reply_enabled,
        configured=is_configured(credentials),
        replies_today=replies,
        failures_today=failures,
    )


def toggle_automation(ports: Ports, user_id: int, enabled: bool | None) -> bool:
    """Turn the automation on or off (``None``: the other way round); whether it is on now.
    Turning it on without a Gemini key is refused."""
    with ports.uow(write=True) as uow:
        user = uow.users.get_for_update(user_id)
        if user is None:
            raise NotFound("resource.not_found")
        credentials = user.credentials
        wanted = not credentials.gemini_auto_reply_enabled if enabled is None else enabled
        if wanted and not is_configured(credentials):
            raise RuleRefused("automation.not_configured")
        if wanted != credentials.gemini_auto_reply_enabled:
            uow.users.save(
                replace(
                    user,
                    credentials=replace(credentials, gemini_auto_reply_enabled=wanted),
                    updated_at=ports.clock(),
                )
            )
            uow.commit()
    return wanted


def list_activity(ports: Ports, user_id: int, params: Mapping[str, str]) -> Page[BotActivity]:
    """One page of the user's bot activities, newest first."""
    pages = parse_page_request(params)
    with ports.uow() as uow:
        found, total = uow.automation.page(user_id, pages.page, pages.per_page)
    return Page(found, total, pages.page, pages.per_page)


def _generate(ports: Ports, user: User, request: GenerationRequest) -> str:
    """Gemini's text for ``request`` with the user's key; a missing key is a
    ``RuleRefused``, a refused one too, any other failure ``UpstreamFailed``."""
    key = user.credentials.gemini_api_key
    if key is None or not key.value:
        raise RuleRefused("automation.not_configured")
    generated = (
        Generation.failed("unavailable")
        if ports.text_generator is None
        else ports.text_generator.generate(key, request)
    )
    if generated.error == "bad_credentials":
        raise RuleRefused("automation.gemini_key_rejected")
    if generated.text is None or not generated.text.strip():
        raise UpstreamFailed("automation.gemini_failed", reason=generated.error or "empty")
    return generated.text


def dry_run_reply(ports: Ports, user_id: int, message: str) -> str:
    """What the automation would answer to ``message`` now, from the knowledge base alone (a
    dry run: nothing is stored or sent)."""
    errors = Collector()
    text = errors.check("message", lambda: required_text(message, max_length=WHATSAPP_TEXT_MAX))
    errors.raise_if_any()
    user = _user(ports, user_id)
    request = reply_request(user.credentials.gemini_knowledge_base, (), text)
    return cap_reply(_generate(ports, user, request))


def _channel(value: str | None) -> Channel:
    if value is None or not value.strip():
        return "whatsapp"
    for channel in CHANNELS:
        if channel == value.strip().lower():
            return channel
    raise ValidationFailed.single("", "campaign.channel_invalid")


def generate_campaign_message(
    ports: Ports, user_id: int, prompt: str, tone: str | None, channel: str | None
) -> str:
    """A campaign draft written by Gemini from the user's brief, using only the known
    placeholders, at most a campaign message's length."""
    errors = Collector()
    brief = errors.check("prompt", lambda: required_text(prompt, max_length=BRIEF_MAX))
    clean_tone = errors.check("tone", lambda: optional_text(tone, max_length=TONE_MAX))
    clean_channel = errors.check("channel", lambda: _channel(channel))
    errors.raise_if_any()
    user = _user(ports, user_id)
    draft = clean_draft(_generate(ports, user, draft_request(brief, clean_tone, clean_channel)))
    if not draft:
        raise UpstreamFailed("automation.gemini_failed", reason="empty")
    return draft


# -- the workers' round --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Ended:
    """How one claimed reply ended, to be recorded."""

    claimed: ClaimedReply
    status: ActivityStatus
    response: str | None = None
    error: str | None = None
    provider_message_id: str | None = None


def _answer(ports: Ports, channel: MessageChannel, claimed: ClaimedReply) -> _Ended:
    """Ask Gemini and send its reply; never raises (a send that raised may have left)."""
    with ports.uow() as uow:
        user = uow.users.get(claimed.user_id)
        history = [
            m
            for m in uow.conversations.recent(
                claimed.user_id, claimed.contact_id, HISTORY_MESSAGES + 1
            )
            if m.id < claimed.inbound_message_id
        ]
    if user is None or not replies_automatically(user.credentials):
        return _Ended(claimed, "skipped", error=AUTOMATION_OFF)
    key = user.credentials.gemini_api_key
    assert key is not None  # replies_automatically
    knowledge_base = user.credentials.gemini_knowledge_base
    request = reply_request(knowledge_base, history, claimed.message_content)
    try:
        generated = (
            Generation.failed("unavailable")
            if ports.text_generator is None
            else ports.text_generator.generate(key, request)
        )
    except Exception:
        generated = Generation.failed("unavailable")
    reply = cap_reply(generated.text or "")
    if not reply:
        return _Ended(claimed, "failed", error=f"gemini_{generated.error or 'empty'}")
    message = OutboundMessage(channel="whatsapp", to=claimed.phone, text=reply)
    try:
        result = channel.send(ChannelAccount.from_credentials(user.credentials), message)
    except Exception:
        result = SendResult.failed("unknown_outcome", "send_crashed")
    if result.outcome == "sent":
        return _Ended(claimed, "sent", reply, provider_message_id=result.provider_message_id)
    return _Ended(claimed, "failed", reply, error=f"whatsapp_{result.error or result.outcome}")


def _record(ports: Ports, worker_id: str, ended: _Ended) -> bool:
    claimed = ended.claimed
    with ports.uow(write=True) as uow:
        now = ports.clock()
        recorded = uow.automation.record(
            worker_id, claimed.activity_id, ended.status, ended.response, ended.error, now
        )
        if recorded and ended.status == "sent" and ended.response is not None:
            uow.conversations.add_outbound(
                claimed.user_id,
                claimed.contact_id,
                ended.response,
                "sent",
                ended.provider_message_id,
                True,
                now,
            )
        uow.commit()
    return recorded


@dataclass(frozen=True, slots=True)
class ReplyReport:
    """What one round did: leases ``reaped``, activities ``claimed``, and how many of them
    were ``sent``, ``failed`` or ``skipped``."""

    reaped: int = 0
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0


def reply_once(
    ports: Ports,
    channel: MessageChannel,
    *,
    worker_id: str,
    lease_seconds: float,
    batch: int,
    send: Mapper = serial_map,
    per_minute: int = AUTO_REPLIES_PER_MINUTE,
    on_error: ErrorHook | None = None,
) -> ReplyReport:
    """One round of AI replies (see the module's docstring). ``lease_seconds`` must outlast
    Gemini's and the channel's timeouts together. An error recording one reply goes to
    ``on_error`` (the others are still recorded; its lease is reaped later) or, without one,
    is raised."""
    now = ports.clock()
    with ports.uow(write=True) as uow:
        reaped = uow.automation.reap_expired(now)
        claimed = uow.automation.claim_due(now, lease_seconds, batch, worker_id, per_minute)
        uow.commit()
    counts = {"sent": 0, "failed": 0, "skipped": 0, "pending": 0}
    for run in send(lambda c: _answer(ports, channel, c), claimed):
        for ended in run:
            try:
                if _record(ports, worker_id, ended):
                    counts[ended.status] += 1
            except Exception as problem:
                if on_error is None:
                    raise
                on_error(f"recording reply {ended.claimed.activity_id}", problem)
    return ReplyReport(
        reaped=reaped,
        claimed=len(claimed),
        sent=counts["sent"],
        failed=counts["failed"],
        skipped=counts["skipped"],
    )
