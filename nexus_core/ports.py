"""What the use cases need from the outside world, as Protocols.

Adapters implement these; ``nexus_core.testing`` has in-memory fakes of each.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self, TypeVar

from nexus_core.domain.api_keys import Secret
from nexus_core.domain.automation import ActivityStatus, BotActivity, ClaimedReply
from nexus_core.domain.campaign_status import CampaignStatus
from nexus_core.domain.campaigns import Campaign, CampaignDraft
from nexus_core.domain.contact_files import FileType
from nexus_core.domain.contact_imports import ImportedRow, OnDuplicate, Settlement
from nexus_core.domain.contact_queries import ContactQuery
from nexus_core.domain.contact_records import Contact, ContactSource, ContactStats
from nexus_core.domain.contacts import ContactDraft
from nexus_core.domain.conversations import (
    ConversationMessage,
    ConversationSummary,
    MessageStatus,
)
from nexus_core.domain.dashboard import Activity, DashboardCounts, ImportTotals
from nexus_core.domain.deliveries import (
    ClaimedDelivery,
    Delivery,
    DeliveryCounts,
    DeliveryStatus,
    Outcome,
    ReceiptStatus,
)
from nexus_core.domain.import_history import ImportCounts, ImportedFile, ImportStatus
from nexus_core.domain.inbound_messages import (
    InboundMessage,
    InboundOwner,
    StoredInbound,
)
from nexus_core.domain.outbound import ChannelAccount, OutboundMessage, SendResult
from nexus_core.domain.rate_limits import WindowCount
from nexus_core.domain.sessions import Session
from nexus_core.domain.text_generator import Generation, GenerationRequest
from nexus_core.domain.users import Registration, User

if TYPE_CHECKING:
    # Only named in annotations: importing concurrent.futures pulls in logging.
    from concurrent.futures import Future

T = TypeVar("T")


class UserRepository(Protocol):
    def add(self, registration: Registration, password_hash: str, now: datetime) -> User:
        """Store a new user; raise ``Conflict("user.email_taken")`` if the email is taken."""
        ...

    def get(self, user_id: int) -> User | None: ...

    def get_by_email(self, email: str) -> User | None:
        """Look a user up by normalised email."""
        ...

    def get_for_update(self, user_id: int) -> User | None:
        """Like ``get``, and no other unit of work may change the user until this one ends."""
        ...

    def save(self, user: User) -> None:
        """Write back the profile, preferences and credentials of an existing user.

        Email, password hash and timestamps other than ``updated_at`` have their own methods,
        so a save from a stale copy can never restore an old password.
        """
        ...

    def record_login(self, user_id: int, now: datetime) -> None: ...

    def set_password_hash(self, user_id: int, password_hash: str, now: datetime) -> None: ...

    def delete(self, user_id: int) -> None:
        """Remove the user and everything they own."""
        ...


class SessionRepository(Protocol):
    def add(self, user_id: int, token_hash: str, now: datetime) -> Session: ...

    def find_with_user(self, token_hash: str) -> tuple[Session, User] | None:
        """The session with this token hash and its user, in one lookup."""
        ...

    def touch(self, session_id: int, now: datetime) -> None: ...

    def revoke(self, session_id: int) -> None: ...

    def revoke_all_for_user(self, user_id: int, except_session_id: int | None = None) -> int:
        """Revoke the user's sessions but one; return how many were revoked."""
        ...

    def purge_expired(self, idle_before: datetime, created_before: datetime) -> int: ...


class RateCounterRepository(Protocol):
    def hit(self, key: str, now: datetime, window: timedelta) -> WindowCount:
        """Count one event for ``key`` atomically, starting a new window if the last one ended."""
        ...

    def peek(self, key: str) -> WindowCount | None: ...

    def clear(self, key: str) -> None: ...


class ContactRepository(Protocol):
    """A user's contacts. Every method takes the owner's id: another user's contact behaves
    exactly like a missing one. One user's phones, and one user's emails, are unique (the
    database enforces it); ``Conflict("contact.phone_taken")`` or
    ``Conflict("contact.email_taken")`` says which (either one when both are taken), and the
    unit of work stays usable."""

    def add(
        self, user_id: int, draft: ContactDraft, source: ContactSource, now: datetime
    ) -> Contact:
        """Store a new contact, created and updated ``now``, never messaged."""
        ...

    def get(self, user_id: int, contact_id: int) -> Contact | None: ...

    def save(self, contact: Contact) -> None:
        """Write back the writable fields and ``updated_at`` (``revised`` sets both) of one of
        ``contact.user_id``'s contacts; ``source``, ``created_at`` and ``last_message`` have
        their own writers. A contact that no longer exists stays gone."""
        ...

    def delete(self, user_id: int, contact_id: int) -> bool:
        """Remove the contact; whether there was one."""
        ...

    def delete_many(self, user_id: int, contact_ids: Collection[int]) -> int:
        """Remove those of ``contact_ids`` that are the user's; how many were removed."""
        ...

    def owned_ids(self, user_id: int, contact_ids: Collection[int]) -> set[int]:
        """Those of ``contact_ids`` that name contacts of the user."""
        ...

    def page(self, user_id: int, query: ContactQuery) -> tuple[list[Contact], int]:
        """One page of the contacts matching ``query``, and how many match in all.

        ``search`` matches when ``query.search_key`` is a substring of the name's
        ``search_key`` or of the email, or ``query.search_digits`` one of the phone; ``status``
        keeps that status; ``tags`` keeps contacts carrying every one of them. Ties of the sort
        key are broken by id, in the same direction (``-created_at``: newest first, and the
        later-created of two at the same moment first). A page past the end is empty.
        """
        ...

    def stream(self, user_id: int, query: ContactQuery) -> Iterator[Contact]:
        """Every contact matching ``query`` (page and ``per_page`` ignored), in its order,
        fetched in batches so that memory stays flat whatever their number. Consume it inside
        the unit of work; each batch may see a newer snapshot than the one before."""
        ...

    def stats(self, user_id: int, now: datetime) -> ContactStats: ...

    def count_opted_out(self, user_id: int) -> int:
        """How many of the user's contacts are opted out (whatever their status)."""
        ...

    def import_batch(
        self,
        user_id: int,
        rows: Sequence[ImportedRow],
        on_duplicate: OnDuplicate,
        now: datetime,
    ) -> list[Settlement]:
        """Apply rows of an import, in order, as ``contact_import_plan.plan_import`` says, with
        a few set-based statements per thousand rows; one settlement per row.

        Created contacts have ``source`` ``import`` and are created and updated ``now``;
        changed ones are updated ``now``. Pass every row ``ImportTally.observe`` called
        ``new`` or ``update`` (under ``skip`` its ``duplicate`` rows change nothing), in file
        order and in batches of about a thousand, and ``settle`` each ``new`` row with
        ``exists=settlement != "imported"``. All or nothing within the unit of work. Should
        concurrent writers keep taking the batch's phones and emails while it is written,
        ``Conflict("import.concurrent_changes")`` ends it.
        """
        ...


class ImportRepository(Protocol):
    """The record of each import (``GET /api/contacts/import/history``)."""

    def start(self, user_id: int, filename: str, file_type: FileType | None, now: datetime) -> int:
        """Record an import as ``processing``, created ``now``; its id."""
        ...

    def finish(
        self,
        import_id: int,
        counts: ImportCounts,
        status: ImportStatus,
        error_message: str | None,
        now: datetime,
    ) -> None:
        """Record how the import ended (``completed_at`` is ``now``)."""
        ...

    def get(self, user_id: int, import_id: int) -> ImportedFile | None: ...

    def page(self, user_id: int, page: int, per_page: int) -> tuple[list[ImportedFile], int]:
        """One page of the user's imports, newest first (ties: the later-started first), and
        how many there are in all."""
        ...

    def totals(self, user_id: int) -> ImportTotals:
        """How many of the user's imports completed, and the sum of their
        ``contacts_imported``."""
        ...


class CampaignRepository(Protocol):
    """A user's campaigns. Every method takes the owner's id (``save`` reads it from the
    campaign): another user's campaign behaves exactly like a missing one."""

    def add(self, user_id: int, draft: CampaignDraft, now: datetime) -> Campaign:
        """Store a new campaign: a ``draft``, created and updated ``now``, never sent, every
        counter 0."""
        ...

    def get(self, user_id: int, campaign_id: int) -> Campaign | None: ...

    def get_for_update(self, user_id: int, campaign_id: int) -> Campaign | None:
        """Like ``get``, and no other unit of work may change the campaign until this one
        ends (in a ``write=True`` unit of work)."""
        ...

    def save(self, campaign: Campaign) -> None:
        """Write back everything but ``id``, ``user_id`` and ``created_at``: the writable
        fields, status, times, counters and ``updated_at`` of one of ``campaign.user_id``'s
        campaigns. Read it with ``get_for_update`` in the same unit of work: a save from a
        stale copy undoes what others changed meanwhile (the dispatcher's counters). A
        campaign that no longer exists stays gone."""
        ...

    def delete(self, user_id: int, campaign_id: int) -> bool:
        """Remove the campaign; whether there was one."""
        ...

    def page(
        self, user_id: int, status: CampaignStatus | None, page: int, per_page: int
    ) -> tuple[list[Campaign], int]:
        """Page ``page`` (from 1) of the user's campaigns in ``status`` (any when ``None``),
        newest first (ties: the later-created first), and how many match in all. A page past
        the end is empty."""
        ...

    def count_by_status(self, user_id: int) -> dict[CampaignStatus, int]:
        """How many campaigns the user has in each status: every status, zeros included, in
        ``CAMPAIGN_STATUSES`` order."""
        ...

    def due_scheduled(self, now: datetime, limit: int) -> list[Campaign]:
        """Up to ``limit`` campaigns of any user that are ``scheduled`` for ``now`` or earlier,
        the earliest first (ties: by id): the dispatcher starts them."""
        ...

    def counter_totals(self, user_id: int) -> dict[str, int]:
        """The sum over the user's campaigns of each delivery counter, by the ``Campaign``
        field's name (``total_recipients``, ``pending_count``, ``sent_count``,
        ``delivered_count``, ``opened_count``, ``clicked_count``, ``failed_count``,
        ``skipped_count``): every one, zeros included."""
        ...


class DeliveryRepository(Protocol):
    """A campaign's deliveries: one per campaign and recipient, the sending queue.

    Recipients follow ``audience.recipients``: the campaign owner's contacts that the audience
    selects and the channel can reach. ``snapshot``, ``preview_recipient`` and
    ``count_recipients`` apply that one rule."""

    def snapshot(self, campaign: Campaign, now: datetime) -> int:
        """Add a ``pending`` delivery, due ``now``, for each recipient of ``campaign`` that
        has none yet (the database keeps one per campaign and contact, so repeating it adds
        nothing); ``to`` and ``name`` copy the contact's address and name. How many were
        added."""
        ...

    def page(
        self,
        user_id: int,
        campaign_id: int,
        status: DeliveryStatus | None,
        page: int,
        per_page: int,
    ) -> tuple[list[Delivery], int]:
        """Page ``page`` (from 1) of the deliveries of one of the user's campaigns in
        ``status`` (any when ``None``), in id order, and how many match in all. Another
        user's campaign has none."""
        ...

    def counts(self, campaign_id: int) -> DeliveryCounts:
        """The campaign's counters recounted from its deliveries."""
        ...

    def activity_by_day(self, user_id: int, starts: Sequence[int]) -> list[Activity]:
        """For each span of buckets (``dashboard.bucket_of``) from ``starts[i]`` to
        ``starts[i + 1]`` (excluded), how many of the user's deliveries reached there each
        milestone they are at now (``dashboard.reached`` of their status). Every status move
        keeps the moments: the milestones a move gains are reached ``now``, those it loses
        are forgotten (``dashboard.milestone_move``); a deleted campaign's deliveries count
        nowhere. Summed in the database, from kept counts: never one row per delivery."""
        ...

    def skip_pending(self, campaign_id: int, error: str, now: datetime) -> int:
        """Cancel what is still to send: every ``pending`` delivery of the campaign turns
        ``skipped`` with ``error``, updated ``now``, due never. Leased ones (being sent) are
        left to their workers' ``record_outcome`` (or ``reap_expired``). How many."""
        ...

    def reset_failed(self, campaign_id: int, now: datetime) -> int:
        """``retry-failed``: every ``failed`` delivery of the campaign turns ``pending``, due
        and updated ``now``, its error and provider message id cleared (the late receipts of
        the failed message must not move the new attempt). ``attempts`` is kept: it counts
        calls to the channel, ever. How many."""
        ...

    def preview_recipient(self, campaign: Campaign) -> Contact | None:
        """The recipient of ``campaign`` with the lowest id, or ``None`` when there is none."""
        ...

    def count_recipients(self, campaign: Campaign) -> int:
        """How many deliveries a first ``snapshot`` of ``campaign`` would add now."""
        ...

    # -- the sending queue (the dispatcher's; each call is its own short write unit of work) --

    def claim_due(
        self,
        now: datetime,
        lease_seconds: float,
        limit: int,
        worker_id: str,
        horizon_seconds: float = 0.0,
    ) -> list[ClaimedDelivery]:
        """Claim up to ``limit`` deliveries to send soon, oldest due first.

        Claimable: ``pending``, due (``next_attempt_at <= now``), not leased, of an
        ``active`` campaign (paused, cancelled … campaigns are never claimed), of a contact
        still there and not opted out, and of a user whose pace allows a message now. Each
        such user gets as many as fit, ``send_rate.spacing(send_rate_per_minute)`` apart from
        ``now``, before ``now + horizon_seconds`` (``send_rate.slots_within``; at least one):
        their ``send_at``. The user's next message may then leave no sooner than one spacing
        after the last (kept in the database, so the pace holds across workers). Each claimed
        delivery stays ``pending``, gets a lease (``worker_id``, until ``lease_seconds`` after
        the last ``send_at`` of its user's) and one more ``attempts``. Due pending deliveries
        of active campaigns whose contact is deleted or opted out are ``skipped`` (error
        ``opted_out``) instead, and not returned. Concurrent claimers never get the same
        delivery. The claimed come back in ``send_at`` order."""
        ...

    def record_outcomes(
        self, worker_id: str, outcomes: Sequence[Outcome], now: datetime
    ) -> set[int]:
        """Record what the channels answered for deliveries ``worker_id`` claimed, all at once:
        each delivery takes its outcome's status, error and provider message id, its lease
        ends, its campaign's counters follow, and a ``sent`` delivery's contact (if not
        deleted) gets ``last_message = now``. The ids recorded: a delivery no longer leased by
        ``worker_id`` (its lease was reaped) is left as it is."""
        ...

    def reap_expired(self, now: datetime) -> int:
        """Deliveries whose lease expired by ``now`` (their worker died mid-send) turn
        ``failed`` with error ``unknown_outcome``: the message may have left, so they are never
        sent again by themselves. Counters follow. How many."""
        ...

    def complete_finished(self, now: datetime) -> list[int]:
        """Every ``active`` campaign with no ``pending`` delivery (leased ones count as
        pending) turns ``completed``, completed and updated ``now``. Their ids."""
        ...

    def fail_campaign(self, campaign_id: int, error: str, now: datetime) -> bool:
        """The channel refused the credentials: an ``active`` campaign turns ``failed``
        (updated ``now``) and its pending, unleased deliveries ``failed`` with ``error``
        (leased ones are mid-send: their workers record them). False, changing nothing,
        when the campaign is not active."""
        ...

    def apply_receipt(
        self, provider_message_id: str, receipt: ReceiptStatus, now: datetime
    ) -> bool:
        """A status callback for the message ``provider_message_id``: the delivery's status
        moves as ``after_receipt`` says (never backwards), updated ``now``, and the counters
        follow. False when no delivery has that id or the receipt changes nothing."""
        ...


class ConversationRepository(Protocol):
    """Users' WhatsApp conversations: one per contact, its messages, and the inbound pipeline's
    writes. Every read takes the owner's id: another user's contact has no conversation."""

    def owner_of(self, phone_number_id: str) -> InboundOwner | None:
        """The user whose ``whatsapp_phone_number_id`` is ``phone_number_id`` (the earliest
        registered when several claim it), or ``None``."""
        ...

    def store_inbound(
        self, user_id: int, phone: str, message: InboundMessage, now: datetime
    ) -> StoredInbound | None:
        """Store an inbound message on the user's contact with this E.164 ``phone`` when it has
        a conversation: ``received``, unread, created ``now``; the conversation moves (newest
        activity, one more unread, last inbound time the message's ``sent_at(now)``, never
        earlier than it was). Nothing changes when the user already has a message with its
        provider id (``message_id`` ``None``). ``None``, writing nothing, when there is no such
        contact or it has no conversation yet: then ``store_inbound_creating``."""
        ...

    def store_inbound_creating(
        self, user_id: int, phone: str, name: str, message: InboundMessage, now: datetime
    ) -> StoredInbound:
        """``store_inbound``, creating what is missing: the contact (named ``name``, ``source``
        ``whatsapp``, ``activo``), even while another unit of work creates the same one, and
        its conversation. Creating a contact writes the owner's row (contacts version and
        counts), locked until the unit of work ends: call this after the other writes."""
        ...

    def opt_out(self, user_id: int, contact_id: int, now: datetime) -> None:
        """The contact asked not to be messaged: ``opted_out``, updated ``now``. Writes the
        owner's row too, as ``store_inbound_creating`` does."""
        ...

    def add_outbound(
        self,
        user_id: int,
        contact_id: int,
        text: str,
        status: MessageStatus,
        provider_message_id: str | None,
        generated_by_ai: bool,
        now: datetime,
    ) -> ConversationMessage:
        """Store a message we sent (or tried to) and make it the conversation's newest."""
        ...

    def apply_receipt(self, provider_message_id: str, receipt: ReceiptStatus) -> bool:
        """A status callback for an outbound message with this provider id: its status moves
        to ``receipt`` when ``moved_by_receipt`` allows (never backwards). False when no
        outbound message has that id or the receipt changes nothing."""
        ...

    def last_inbound_at(self, user_id: int, contact_id: int) -> datetime | None:
        """When the contact last wrote to the user (``None``: never, or not the user's)."""
        ...

    def page(self, user_id: int, page: int, per_page: int) -> tuple[list[ConversationSummary], int]:
        """Page ``page`` of the user's conversations, newest activity first (ties: the later
        started first), and how many there are."""
        ...

    def read_messages(
        self, user_id: int, contact_id: int, page: int, per_page: int
    ) -> tuple[list[ConversationMessage], int]:
        """Page ``page`` of the conversation's messages, newest first, and how many; the
        page's unread inbound messages turn ``read`` (as returned) and the unread count
        follows."""
        ...

    def recent(self, user_id: int, contact_id: int, limit: int) -> list[ConversationMessage]:
        """The conversation's newest ``limit`` messages, oldest first."""
        ...


class AutomationRepository(Protocol):
    """Bot activities: the queue of inbound messages to answer with Gemini, and their record."""

    def enqueue(
        self, user_id: int, contact_id: int, inbound_message_id: int, now: datetime
    ) -> None:
        """A ``pending`` activity for an inbound message (at most one per message), with
        snapshots of the contact's phone and name and of the message's text."""
        ...

    def claim_due(
        self, now: datetime, lease_seconds: float, limit: int, worker_id: str, per_minute: int
    ) -> list[ClaimedReply]:
        """Lease up to ``limit`` pending activities, oldest first, to ``worker_id`` until
        ``now + lease_seconds``: at most ``per_minute`` per user claimed within the minute
        before ``now``; the rest wait. Those whose user turned the automation off (or removed
        the key), whose contact was deleted or opted out, or whose 24-hour window closed are
        ``skipped`` (with why) instead. Concurrent claimers never get the same activity."""
        ...

    def record(
        self,
        worker_id: str,
        activity_id: int,
        status: ActivityStatus,
        response: str | None,
        error: str | None,
        now: datetime,
    ) -> bool:
        """How a leased activity ended; False (nothing changes) when ``worker_id`` no longer
        holds its lease."""
        ...

    def reap_expired(self, now: datetime) -> int:
        """Leased activities whose lease ended by ``now`` turn ``failed`` with
        ``unknown_outcome`` (the reply may have left: never sent again). How many."""
        ...

    def page(self, user_id: int, page: int, per_page: int) -> tuple[list[BotActivity], int]:
        """Page ``page`` of the user's activities, newest first, and how many."""
        ...

    def outcomes_since(self, user_id: int, since: datetime) -> tuple[int, int]:
        """How many of the user's activities created at ``since`` or later were ``sent``, and
        how many ``failed``."""
        ...


class DashboardRepository(Protocol):
    """The dashboard's counts, read at once."""

    def counts(self, user_id: int, now: datetime, starts: Sequence[int]) -> DashboardCounts:
        """All the counts of ``DashboardCounts``, as the repositories that answer each of
        them (its ``activity`` for the spans of ``starts``) would answer at one moment."""
        ...


class TextGenerator(Protocol):
    """A large language model (Gemini's ``generateContent``), called with the user's key.

    ``generate`` never raises for a failure of the service (refused, unreachable, slow,
    filtered): it classifies it in the ``Generation``. Safe to call from several threads."""

    def generate(self, api_key: Secret, request: GenerationRequest) -> Generation: ...


class MessageChannel(Protocol):
    """A way out for messages: the WhatsApp Cloud API or SMTP.

    ``send`` never raises for a channel failure (refused, unreachable, timed out, dropped): it
    classifies it in the ``SendResult`` (API.md, "Channels and delivery receipts"), and an
    outcome it cannot know (the request left, no answer came) is ``unknown_outcome``, never
    ``retryable``. It raises only for programming errors, such as a message of another channel.
    Safe to call from several threads at once.
    """

    def send(self, account: ChannelAccount, message: OutboundMessage) -> SendResult: ...


class UnitOfWork(Protocol):
    """One transaction over the repositories; rolls back unless ``commit()`` was called."""

    users: UserRepository
    sessions: SessionRepository
    rate_counters: RateCounterRepository
    contacts: ContactRepository
    imports: ImportRepository
    campaigns: CampaignRepository
    deliveries: DeliveryRepository
    conversations: ConversationRepository
    automation: AutomationRepository
    dashboard: DashboardRepository

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, write: bool = False) -> UnitOfWork:
        """A new unit of work; ``write=True`` takes the write lock up front where that matters.

        A reader (``write=False``) must only read: the SQL adapters run its statements as
        separate snapshots, so writes made through it would not be transactional.
        """
        ...


class GroupWriter(Protocol):
    """Short writes of many callers committed together (group commit)."""

    def submit(self, work: Callable[[UnitOfWork], T]) -> Future[T]:
        """Queue ``work`` to run in a write unit of work, perhaps in one transaction with
        other callers' works, each in a savepoint of its own: one that raises is undone alone.
        The future gets the work's result, or the exception it raised, once the transaction
        has committed (or failed). Cancelling the future before its work has begun drops it."""
        ...

    def run(self, work: Callable[[UnitOfWork], T]) -> T:
        """``submit(work)`` and wait: the work's result, or the exception it raised."""
        ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password: str, password_hash: str) -> bool:
        """Compare in constant time; a malformed hash is simply ``False``."""
        ...

    @property
    def decoy_hash(self) -> str:
        """A valid hash of no one's password, verified against when the email is unknown."""
        ...


class TokenGenerator(Protocol):
    def new_token(self) -> str:
        """A fresh 256-bit random token, URL-safe."""
        ...

    def hash_token(self, token: str) -> str:
        """The stored form of a token (a one-way digest)."""
        ...


class SecretBox(Protocol):
    def encrypt(self, plaintext: str) -> str: ...

    def decrypt(self, ciphertext: str) -> str: ...


Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware UTC."""
