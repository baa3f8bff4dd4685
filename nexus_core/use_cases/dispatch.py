"""The dispatcher's round: start the scheduled campaigns whose time came, claim due deliveries,
send them outside any transaction, record what each channel answered, complete what is done.

Send at most once (ARCHITECTURE.md): ``claim_due`` leases each delivery and counts its attempt
before the channel is called, and an answer that cannot be known is recorded ``failed`` with
``unknown_outcome``, never retried by itself. Every step is its own short unit of work; the
sends hold none, so a slow channel never holds a database lock or connection.

One delivery's trouble never stops the round: a channel that raises (a programming error) is
recorded as ``unknown_outcome`` (the request may have left), and an error recording one outcome
is reported through ``on_error`` while the others are still recorded (a delivery left leased is
reaped as ``unknown_outcome`` when its lease ends).

A scheduled campaign is started when due exactly as ``/send`` starts one, without its checks:
an owner who removed the channel's credentials meanwhile gets a campaign that fails on its first
message (``bad_credentials``), and an audience that emptied meanwhile gives a campaign that
completes at once with no recipients. A campaign never stays ``scheduled`` past its time.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from nexus_core.domain.audience import Channel
from nexus_core.domain.deliveries import ClaimedDelivery, Outcome
from nexus_core.domain.outbound import (
    ChannelAccount,
    OutboundMessage,
    RenderedTemplate,
    SendResult,
)
from nexus_core.domain.placeholders import render
from nexus_core.domain.retry_policy import RandomSource, after_outcome
from nexus_core.ports import MessageChannel
from nexus_core.use_cases.campaign_actions import start_sending
from nexus_core.use_cases.context import Ports

_T = TypeVar("_T")
_R = TypeVar("_R")

# The error of a delivery whose send may have left but whose answer is unknown (API.md).
UNKNOWN_OUTCOME = "unknown_outcome"
# A send that raised instead of answering: a programming error, after the request may have left.
SEND_CRASHED = "send_crashed"
# No channel is configured in this process for the campaign's channel.
CHANNEL_UNAVAILABLE = "channel_unavailable"
# How many due scheduled campaigns one round starts at most.
SCHEDULED_PER_ROUND = 100


class Mapper(Protocol):
    """Runs ``fn`` over ``items`` and yields the results in the items' order, in runs: each
    run is the results ready together (one by one in this thread: runs of one; on a thread
    pool: whatever finished while the caller was busy). A run's outcomes are recorded in one
    unit of work."""

    def __call__(self, fn: Callable[[_T], _R], items: Iterable[_T], /) -> Iterator[list[_R]]: ...


def serial_map(fn: Callable[[_T], _R], items: Iterable[_T], /) -> Iterator[list[_R]]:
    """One by one, in this thread."""
    return ([fn(item)] for item in items)


ErrorHook = Callable[[str, BaseException], None]
UnsubscribeLink = Callable[[ClaimedDelivery], str | None]
Clock = Callable[[], datetime]
Sleep = Callable[[float], None]


def _ignore(what: str, error: BaseException) -> None:
    """The default ``on_error``: the round goes on regardless."""


@dataclass(frozen=True, slots=True)
class DispatchReport:
    """What one round did: campaigns ``started`` (scheduled ones whose time came), leases
    ``reaped``, deliveries ``claimed`` and how they ended (``sent``, ``retried`` later,
    ``failed``), campaigns ``failed_campaigns`` (bad credentials) and ``completed``, and AI
    replies ``replies`` claimed (``automation.reply_once``, when the round runs it)."""

    started: int = 0
    reaped: int = 0
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    failed_campaigns: int = 0
    completed: int = 0
    replies: int = 0

    @property
    def idle(self) -> bool:
        """Nothing happened: nothing was due."""
        return (
            self.started == 0
            and self.reaped == 0
            and self.claimed == 0
            and self.completed == 0
            and self.replies == 0
        )


@dataclass(frozen=True, slots=True)
class _Job:
    claimed: ClaimedDelivery
    account: ChannelAccount
    channel: MessageChannel | None


def outbound_message(
    claimed: ClaimedDelivery, unsubscribe_url: str | None = None
) -> OutboundMessage:
    """The message of ``claimed``, its text, subject and template parameters rendered for its
    recipient (the delivery's snapshot of name and address, the contact's current phone and
    email)."""
    template = claimed.whatsapp_template
    rendered = (
        None
        if template is None
        else RenderedTemplate(
            template.name,
            template.language,
            tuple(render(param, claimed) for param in template.body_params),
        )
    )
    subject = claimed.subject
    return OutboundMessage(
        channel=claimed.channel,
        to=claimed.to,
        text=render(claimed.message, claimed),
        subject=None if subject is None else render(subject, claimed),
        media_url=claimed.media_url,
        media_type=claimed.media_type,
        template=rendered,
        unsubscribe_url=unsubscribe_url if claimed.channel == "email" else None,
    )


def _send(job: _Job, unsubscribe: UnsubscribeLink | None, clock: Clock, sleep: Sleep) -> SendResult:
    """Wait for the delivery's send time, then call the channel; never raises (an exception
    is an unknown outcome: it may have left)."""
    delay = (job.claimed.send_at - clock()).total_seconds()
    if delay > 0:
        sleep(delay)
    if job.channel is None:
        return SendResult.failed("permanent", CHANNEL_UNAVAILABLE)
    try:
        link = None if unsubscribe is None else unsubscribe(job.claimed)
        return job.channel.send(job.account, outbound_message(job.claimed, link))
    except Exception:
        return SendResult.failed("unknown_outcome", SEND_CRASHED)


def start_due_campaigns(ports: Ports, now: datetime, limit: int = SCHEDULED_PER_ROUND) -> int:
    """Start every scheduled campaign whose ``scheduled_at`` is ``now`` or earlier (each in its
    own unit of work, re-read under lock: a campaign changed meanwhile is left alone). How
    many were started."""
    with ports.uow() as uow:
        due = uow.campaigns.due_scheduled(now, limit)
    started = 0
    for candidate in due:
        with ports.uow(write=True) as uow:
            campaign = uow.campaigns.get_for_update(candidate.user_id, candidate.id)
            if (
                campaign is None
                or campaign.status != "scheduled"
                or campaign.scheduled_at is None
                or campaign.scheduled_at > now
            ):
                continue
            start_sending(uow, campaign, now)
            uow.commit()
        started += 1
    return started


def _accounts(ports: Ports, user_ids: Iterable[int]) -> dict[int, ChannelAccount]:
    """Each owner's channel account, read once per round (an owner gone has none: the channel
    answers ``bad_credentials``)."""
    found: dict[int, ChannelAccount] = {}
    for user_id in user_ids:
        if user_id in found:
            continue
        with ports.uow() as uow:
            owner = uow.users.get(user_id)
        found[user_id] = (
            ChannelAccount()
            if owner is None
            else ChannelAccount.from_credentials(owner.credentials)
        )
    return found


@dataclass(slots=True)
class _Tally:
    """What the recorded outcomes of a round did (``DispatchReport``'s counts)."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    failed_campaigns: int = 0
    failed_campaign_ids: set[int] = field(default_factory=set)


def _record(
    ports: Ports,
    worker_id: str,
    run: list[tuple[_Job, SendResult]],
    jitter: RandomSource,
    tally: _Tally,
    on_error: ErrorHook,
) -> None:
    """Record the outcomes of ``run`` (sends that finished together) in one unit of work, and
    fail the campaigns whose credentials were refused. If that fails, each is recorded alone,
    so that one that cannot be loses only itself."""
    at = ports.clock()
    verdicts = [
        (job, result, after_outcome(result.outcome, job.claimed.delivery.attempts, at, jitter))
        for job, result in run
    ]
    outcomes = []
    for job, result, verdict in verdicts:
        error = UNKNOWN_OUTCOME if result.outcome == "unknown_outcome" else result.error
        outcomes.append(
            Outcome(
                job.claimed.delivery.id,
                verdict.status,
                None if verdict.status == "sent" else error,
                result.provider_message_id,
                verdict.retry_at,
            )
        )
    failing = set(tally.failed_campaign_ids)
    newly_failed = 0
    try:
        with ports.uow(write=True) as uow:
            recorded = uow.deliveries.record_outcomes(worker_id, outcomes, at)
            for (job, _, verdict), outcome in zip(verdicts, outcomes, strict=True):
                campaign_id = job.claimed.delivery.campaign_id
                if verdict.fails_campaign and campaign_id not in failing:
                    failing.add(campaign_id)
                    reason = outcome.error or "bad_credentials"
                    newly_failed += uow.deliveries.fail_campaign(campaign_id, reason, at)
            uow.commit()
    except Exception as problem:
        if len(run) == 1:
            on_error(f"recording delivery {run[0][0].claimed.delivery.id}", problem)
            return
        for one in run:
            _record(ports, worker_id, [one], jitter, tally, on_error)
        return
    tally.failed_campaign_ids = failing
    tally.failed_campaigns += newly_failed
    for outcome in outcomes:
        if outcome.delivery_id not in recorded:
            continue
        if outcome.status == "sent":
            tally.sent += 1
        elif outcome.status == "pending":
            tally.retried += 1
        else:
            tally.failed += 1


def dispatch_once(
    ports: Ports,
    channels: Mapping[Channel, MessageChannel],
    *,
    worker_id: str,
    lease_seconds: float,
    batch: int,
    send: Mapper = serial_map,
    rng: RandomSource | None = None,
    unsubscribe_url: UnsubscribeLink | None = None,
    on_error: ErrorHook = _ignore,
    horizon_seconds: float = 0.0,
    sleep: Sleep = time.sleep,
) -> DispatchReport:
    """One round of the dispatcher (see the module's docstring). ``send`` maps the sends (an
    executor's ``map`` runs them concurrently); ``lease_seconds`` must outlast the channels'
    timeouts. ``unsubscribe_url`` gives an email's one-click opt-out link. Each user's
    messages due within ``horizon_seconds`` are claimed at once, paced by their send times:
    each send waits (``sleep``) until its time, so a round lasts about the horizon when a
    user's pace fills it."""
    jitter: RandomSource = rng if rng is not None else random.Random()  # noqa: S311 (retry jitter, not a secret)
    now = ports.clock()
    with ports.uow(write=True) as uow:
        reaped = uow.deliveries.reap_expired(now)
        uow.commit()
    started = start_due_campaigns(ports, now)

    with ports.uow(write=True) as uow:
        claimed = uow.deliveries.claim_due(now, lease_seconds, batch, worker_id, horizon_seconds)
        uow.commit()

    tally = _Tally()
    if claimed:
        accounts = _accounts(ports, (c.user_id for c in claimed))
        jobs = [_Job(c, accounts[c.user_id], channels.get(c.channel)) for c in claimed]
        runs = send(lambda j: _send(j, unsubscribe_url, ports.clock, sleep), jobs)
        done = 0
        for results in runs:
            run = list(zip(jobs[done : done + len(results)], results, strict=True))
            done += len(results)
            _record(ports, worker_id, run, jitter, tally, on_error)

    with ports.uow(write=True) as uow:
        completed = len(uow.deliveries.complete_finished(ports.clock()))
        uow.commit()
    return DispatchReport(
        started=started,
        reaped=reaped,
        claimed=len(claimed),
        sent=tally.sent,
        retried=tally.retried,
        failed=tally.failed,
        failed_campaigns=tally.failed_campaigns,
        completed=completed,
    )
