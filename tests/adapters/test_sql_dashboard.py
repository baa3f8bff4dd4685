"""The dashboard on SQLite and PostgreSQL: random sequences of contact, import, campaign,
dispatch and receipt operations leave every counter equal to a recount of the rows, the
dashboard's counts equal to the repositories' own answers, and the dashboard equal to the
in-memory fake's; both databases seeded alike give the same numbers; a remembered count of new
contacts is counted again after any process writes contacts, and as contacts age; the
migration dates deliveries that existed before it; the queries use their indexes."""

from __future__ import annotations

import dataclasses
import io
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import URL, Engine

from nexus_adapters.security.secret_box import FernetSecretBox
from nexus_adapters.sql import tables
from nexus_adapters.sql.engine import build_engine
from nexus_adapters.sql.migrate import upgrade
from nexus_adapters.sql.repositories.contacts import touch_contacts
from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_core.domain.contact_queries import ContactQuery
from nexus_core.domain.contact_records import recent_since
from nexus_core.domain.contacts import ContactDraft
from nexus_core.domain.dashboard import (
    MILESTONES,
    Activity,
    Dashboard,
    Milestone,
    bucket_of,
    last_days,
    reached,
)
from nexus_core.domain.deliveries import DELIVERY_STATUSES, RECEIPT_STATUSES, Outcome
from nexus_core.errors import DomainError
from nexus_core.ports import UnitOfWorkFactory
from nexus_core.testing.fakes import (
    FakeClock,
    FakeContactFileReader,
    FakeHasher,
    FakeStore,
    FakeTokens,
    counts_of_repositories,
)
from nexus_core.use_cases import (
    accounts,
    campaign_actions,
    campaigns,
    contact_imports,
    contacts,
    profile,
)
from nexus_core.use_cases.context import Ports
from nexus_core.use_cases.dashboard import dashboard_stats
from tests.adapters.databases import only_sqlite
from tests.postgres import empty_public_schema

START = datetime(2026, 3, 20, 22, 40, tzinfo=UTC)
WHATSAPP = {"whatsapp_api_key": "EAAG-token-1234", "whatsapp_phone_number_id": "1098765"}
ZONES = ("Europe/Madrid", "America/Santiago", "Asia/Kathmandu", "Australia/Lord_Howe", "UTC")
d = tables.deliveries
# The driver's operations, the commoner ones repeated.
OPERATIONS = (
    *("contact",) * 4 + ("import_",) * 2 + ("campaign",) * 2 + ("opt_out", "delete_contact"),
    *("dispatch",) * 8 + ("receipt",) * 6 + ("complete",) * 3 + ("retry",) * 3 + ("reap",),
    *("fail", "cancel", "delete_campaign", "later", "later"),
)


class Account:
    """One user of one store, driven through the use cases and the dispatcher's calls."""

    def __init__(self, uow: UnitOfWorkFactory, timezone: str) -> None:
        self.uow = uow
        self.clock = FakeClock(START)
        self.ports = Ports(uow, FakeHasher(), FakeTokens(), self.clock, FakeContactFileReader())
        user = accounts.register(
            self.ports, email="ana@example.com", password="x" * 10, name="Ana"
        ).user
        self.user = profile.update_profile(self.ports, user.id, {**WHATSAPP, "timezone": timezone})
        self.timezone = timezone

    def dashboard(self) -> Dashboard:
        return dashboard_stats(self.ports, self.user.id, self.timezone)

    def contact_ids(self) -> list[int]:
        with self.uow() as uow:
            return sorted(c.id for c in uow.contacts.stream(self.user.id, ContactQuery()))

    def campaign_ids(self, status: Any = None) -> list[int]:
        with self.uow() as uow:
            found, _ = uow.campaigns.page(self.user.id, status, 1, 1000)
        return sorted(c.id for c in found)

    def attempt(self, action: Any, *args: Any) -> str:
        """Run a use case; a refusal (an empty audience, an illegal move) is an outcome."""
        try:
            action(*args)
        except DomainError as refused:
            return refused.code
        return "ok"

    def write(self, work: Any) -> Any:
        with self.uow(write=True) as uow:
            done = work(uow)
            uow.commit()
        return done


@dataclasses.dataclass
class Driver:
    """Applies the same random operations to several accounts (a fake and a database)."""

    accounts: list[Account]
    rng: random.Random
    serial: int = 0
    message_ids: list[str] = dataclasses.field(default_factory=list)

    def each(self, op: Any) -> list[Any]:
        return [op(account) for account in self.accounts]

    def step(self) -> str:
        name = self.rng.choice(OPERATIONS)
        getattr(self, name)()
        return name

    def _phone(self) -> str:
        self.serial += 1
        return f"+3461{self.serial:07d}"

    def contact(self) -> None:
        fields = {
            "name": f"C{self.serial}",
            "phone": self._phone(),
            "status": self.rng.choice(["activo", "activo", "inactivo"]),
            "opted_out": self.rng.random() < 0.2,
        }
        self.each(lambda a: contacts.create_contact(a.ports, a.user, fields))

    def _pick(self, ids: list[int]) -> int | None:
        return ids[self.rng.randrange(len(ids))] if ids else None

    def opt_out(self) -> None:
        position, value = self.rng.random(), self.rng.random() < 0.7

        def op(a: Account) -> None:
            ids = a.contact_ids()
            if ids:
                target = ids[int(position * len(ids))]
                contacts.update_contact(a.ports, a.user, target, {"opted_out": value})

        self.each(op)

    def delete_contact(self) -> None:
        position = self.rng.random()

        def op(a: Account) -> None:
            ids = a.contact_ids()
            if ids:
                contacts.delete_contact(a.ports, a.user.id, ids[int(position * len(ids))])

        self.each(op)

    def import_(self) -> None:
        rows = [f"I{self.serial},{self._phone()}" for _ in range(self.rng.randint(1, 4))]
        if self.serial > 3 and self.rng.random() < 0.5:
            rows.append(f"Dup,+3461{self.serial - 2:07d}")  # often one already there
        content = ("name,phone\n" + "\n".join(rows) + "\n").encode()
        self.each(
            lambda a: contact_imports.import_contacts(
                a.ports, a.user, filename="c.csv", content=io.BytesIO(content)
            )
        )

    def campaign(self) -> None:
        tagless = {"name": "Promo", "message": "Hola", "audience": {"all_contacts": True}}

        def op(a: Account) -> str:
            draft = campaigns.create_campaign(a.ports, a.user.id, tagless)
            return a.attempt(campaign_actions.send_campaign, a.ports, a.user, draft.id)

        self._same(self.each(op))

    def dispatch(self) -> None:
        choices = [self.rng.choice(["sent", "sent", "failed", "retry", "lost"]) for _ in range(6)]
        first_id = self.serial = self.serial + len(choices)
        issued: list[list[str]] = []

        def op(a: Account) -> None:
            a.clock.advance(timedelta(seconds=40))  # the user's pace allows more
            now = a.clock()

            def work(uow: Any) -> list[str]:
                claimed = uow.deliveries.claim_due(now, 60, 6, "w1", 30)
                outcomes, ids = [], []
                for n, (claim, choice) in enumerate(zip(claimed, choices, strict=False)):
                    delivery_id = claim.delivery.id
                    if choice == "sent":
                        ids.append(f"wamid.{first_id + n}")
                        outcomes.append(Outcome(delivery_id, "sent", provider_message_id=ids[-1]))
                    elif choice == "failed":
                        outcomes.append(Outcome(delivery_id, "failed", error="131026"))
                    elif choice == "retry":
                        retry_at = now + timedelta(seconds=5)
                        outcomes.append(Outcome(delivery_id, "pending", next_attempt_at=retry_at))
                uow.deliveries.record_outcomes("w1", outcomes, now)
                return ids

            issued.append(a.write(work))

        self.each(op)
        self._same(issued)
        self.message_ids.extend(issued[0])

    def receipt(self) -> None:
        if not self.message_ids:
            return
        message_id = self.rng.choice(self.message_ids)
        status = self.rng.choice(RECEIPT_STATUSES)
        self._same(
            self.each(
                lambda a: a.write(
                    lambda uow: uow.deliveries.apply_receipt(message_id, status, a.clock())
                )
            )
        )

    def reap(self) -> None:
        self._same(self.each(lambda a: a.write(lambda uow: uow.deliveries.reap_expired(a.clock()))))

    def complete(self) -> None:
        self.each(lambda a: a.write(lambda uow: uow.deliveries.complete_finished(a.clock())))

    def _on_campaign(self, action: Any, status: Any = None) -> None:
        position = self.rng.random()

        def op(a: Account) -> str:
            ids = a.campaign_ids(status)
            if not ids:
                return "none"
            return a.attempt(action, a, ids[int(position * len(ids))])

        self._same(self.each(op))

    def fail(self) -> None:
        self._on_campaign(
            lambda a, cid: a.write(
                lambda uow: uow.deliveries.fail_campaign(cid, "bad_credentials", a.clock())
            )
        )

    def cancel(self) -> None:
        self._on_campaign(lambda a, cid: campaign_actions.cancel_campaign(a.ports, a.user, cid))

    def retry(self) -> None:
        self.complete()
        self._on_campaign(
            lambda a, cid: campaign_actions.retry_failed(a.ports, a.user, cid), "completed"
        )

    def delete_campaign(self) -> None:
        self._on_campaign(lambda a, cid: campaigns.delete_campaign(a.ports, a.user.id, cid))

    def later(self) -> None:
        delta = timedelta(minutes=self.rng.choice([1, 1, 2, 7, 50, 300, 1440, 4000, 20000]))
        self.each(lambda a: a.clock.advance(delta))

    @staticmethod
    def _same(results: list[Any]) -> None:
        assert all(result == results[0] for result in results), results


# -- recounts from the rows ------------------------------------------------------------------


def recount_activity(connection: sa.Connection, user_id: int) -> Counter[tuple[int, str]]:
    found: Counter[tuple[int, str]] = Counter()
    for milestone in MILESTONES:
        stamp = d.c[f"{milestone}_at"]
        grouped = connection.execute(
            sa.select(stamp, sa.func.count())
            .where(d.c.user_id == user_id, stamp.is_not(None))
            .group_by(stamp)
        )
        for moment, how_many in grouped:
            found[bucket_of(moment), milestone] += how_many
    return found


def kept_activity(connection: sa.Connection, user_id: int) -> Counter[tuple[int, str]]:
    a = tables.delivery_activity
    kept: Counter[tuple[int, str]] = Counter()
    for row in connection.execute(sa.select(a).where(a.c.user_id == user_id)):
        for milestone in MILESTONES:
            assert row._mapping[milestone] >= 0
            kept[row.bucket, milestone] += row._mapping[milestone]
    return +kept


def assert_counters_equal_a_recount(account: Account) -> None:
    factory = account.uow
    assert isinstance(factory, SqlUnitOfWorkFactory)
    user_id = account.user.id
    with factory.engine.connect() as connection:
        assert kept_activity(connection, user_id) == recount_activity(connection, user_id)
        for milestone in MILESTONES:
            statuses = [s for s in DELIVERY_STATUSES if milestone in reached(s)]
            stamp = d.c[f"{milestone}_at"]
            mismatched = connection.execute(
                sa.select(sa.func.count()).where(
                    d.c.user_id == user_id,
                    sa.or_(
                        sa.and_(d.c.status.in_(statuses), stamp.is_(None)),
                        sa.and_(d.c.status.not_in(statuses), stamp.is_not(None)),
                    ),
                )
            ).scalar_one()
            assert mismatched == 0, milestone
        statuses_of = Counter(
            connection.execute(sa.select(d.c.status).where(d.c.user_id == user_id)).scalars()
        )
        everyone = list(
            connection.execute(
                sa.select(tables.contacts).where(tables.contacts.c.user_id == user_id)
            )
        )
        imports = list(
            connection.execute(
                sa.select(tables.contact_imports).where(tables.contact_imports.c.user_id == user_id)
            )
        )
    dashboard = account.dashboard()
    now = account.clock()
    starts = last_days(now, account.timezone).starts
    with factory() as uow:
        at_once = uow.dashboard.counts(user_id, now, starts)
        assert at_once == counts_of_repositories(uow, user_id, now, starts)
    totals = Counter[Milestone]()
    for status, how_many in statuses_of.items():
        for milestone in reached(status):
            totals[milestone] += how_many
    assert dashboard.messages == Activity.of(totals)
    assert dashboard.contacts.total == len(everyone)
    assert dashboard.contacts.active == sum(c.status == "activo" for c in everyone)
    assert dashboard.contacts.inactive == sum(c.status == "inactivo" for c in everyone)
    assert dashboard.contacts.opted_out == sum(c.opted_out for c in everyone)
    assert dashboard.contacts.new == sum(c.created_at >= recent_since(now) for c in everyone)
    done = [i for i in imports if i.status == "completed"]
    assert dashboard.imports.imports == len(done)
    assert dashboard.imports.contacts_imported == sum(i.contacts_imported for i in done)
    with factory() as uow:
        for campaign_id in account.campaign_ids():
            stored = uow.campaigns.get(user_id, campaign_id)
            assert stored is not None
            recount = uow.deliveries.counts(campaign_id)
            assert (stored.sent_count, stored.delivered_count) == (
                recount.sent_count,
                recount.delivered_count,
            )
            assert (stored.opened_count, stored.failed_count) == (
                recount.opened_count,
                recount.failed_count,
            )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_sequences_keep_every_counter_equal_to_a_recount_and_to_the_fake(
    seed: int, uow_factory: SqlUnitOfWorkFactory
) -> None:
    rng = random.Random(seed)
    timezone = ZONES[seed % len(ZONES)]
    fake, database = Account(FakeStore(), timezone), Account(uow_factory, timezone)
    driver = Driver([fake, database], rng)
    done: Counter[str] = Counter()
    for _ in range(100):
        done[driver.step()] += 1
        assert database.dashboard() == fake.dashboard(), done
        assert_counters_equal_a_recount(database)
    final = database.dashboard()
    # The sequence did reach what it is meant to check.
    assert final.messages.sent + final.messages.failed > 0, done
    assert sum(row.activity.sent + row.activity.failed for row in final.daily) > 0, done


# -- SQLite and PostgreSQL seeded alike --------------------------------------------------------


def _factory(url: str) -> tuple[Engine, SqlUnitOfWorkFactory]:
    engine = build_engine(url, 4)
    upgrade(engine)
    box = FernetSecretBox([Fernet.generate_key().decode()])
    return engine, SqlUnitOfWorkFactory(engine, box)


@pytest.mark.postgres
def test_sqlite_and_postgresql_seeded_alike_give_the_same_numbers(
    tmp_path: Path, postgres_session_url: URL
) -> None:
    empty_public_schema(postgres_session_url)
    urls = [
        f"sqlite:///{tmp_path / 'same.db'}",
        postgres_session_url.render_as_string(hide_password=False),
    ]
    built = [_factory(url) for url in urls]
    try:
        on_both = [Account(factory, "America/Santiago") for _, factory in built]
        driver = Driver(on_both, random.Random(42))
        for _ in range(120):
            driver.step()
        sqlite_numbers, postgresql_numbers = (account.dashboard() for account in on_both)
        assert sqlite_numbers == postgresql_numbers
        assert sqlite_numbers.messages.sent > 0
        assert sqlite_numbers.contacts.total > 0
    finally:
        for engine, factory in built:
            factory.close()
            engine.dispose()


# -- new contacts, remembered while the contacts version holds ----------------------------------


def new_contacts(factory: SqlUnitOfWorkFactory, user_id: int, now: datetime) -> int:
    with factory() as uow:
        return uow.dashboard.counts(user_id, now, last_days(now, "UTC").starts).contacts.recent


def add_contact(factory: SqlUnitOfWorkFactory, user_id: int, phone: str, now: datetime) -> int:
    with factory(write=True) as uow:
        draft = ContactDraft(name="N", phone=phone, email=None)
        contact_id = uow.contacts.add(user_id, draft, "manual", now).id
        uow.commit()
    return contact_id


def test_new_contacts_are_counted_anew_after_another_process_writes_and_as_they_age(
    uow_factory: SqlUnitOfWorkFactory,
    migrated_engine: Engine,
    secret_box: FernetSecretBox,
    add_user: Any,
) -> None:
    """Two factories on one database are two server processes: each remembers its own
    counts, and sees the other's writes at once."""
    other_process = SqlUnitOfWorkFactory(migrated_engine, secret_box)
    hour, week = timedelta(hours=1), timedelta(days=7)
    try:
        ana = add_user().id
        first = add_contact(other_process, ana, "+34600000001", START)
        add_contact(other_process, ana, "+34600000002", START + hour)
        assert new_contacts(uow_factory, ana, START + 2 * hour) == 2
        assert new_contacts(uow_factory, ana, START + 3 * hour) == 2
        add_contact(other_process, ana, "+34600000003", START + 3 * hour)
        assert new_contacts(uow_factory, ana, START + 4 * hour) == 3
        with other_process(write=True) as uow:
            assert uow.contacts.delete(ana, first)
            uow.commit()
        assert new_contacts(uow_factory, ana, START + 4 * hour) == 2
        # New for exactly a week: the second contact until START + hour + week, included.
        assert new_contacts(uow_factory, ana, START + hour + week) == 2
        assert new_contacts(uow_factory, ana, START + hour + week + timedelta(microseconds=1)) == 1
        # An earlier moment again (another thread's clock read), then none left.
        assert new_contacts(uow_factory, ana, START + 4 * hour) == 2
        assert new_contacts(uow_factory, ana, START + 3 * hour + week + timedelta(seconds=1)) == 0
    finally:
        other_process.close()


def test_the_count_of_new_contacts_is_remembered_until_the_contacts_version_moves(
    uow_factory: SqlUnitOfWorkFactory, add_user: Any
) -> None:
    """What proves a remembered count right is the version that every writer of contacts
    moves (``touch_contacts``): a row inserted behind its back is counted once it moves."""
    ana = add_user().id
    add_contact(uow_factory, ana, "+34600000001", START)
    assert new_contacts(uow_factory, ana, START) == 1
    row = {"name": "X", "name_key": "x", "phone": "+34600000002", "email": None, "tags": ""}
    row |= {"status": "activo", "opted_out": False, "source": "manual", "notes": None}
    row |= {"user_id": ana, "created_at": START, "updated_at": START}
    with uow_factory.engine.begin() as connection:
        connection.execute(sa.insert(tables.contacts).values(**row))
    assert new_contacts(uow_factory, ana, START) == 1
    with uow_factory.engine.begin() as connection:
        touch_contacts(connection, ana)
    assert new_contacts(uow_factory, ana, START) == 2


def test_a_user_without_a_row_has_a_dashboard_of_zeros(uow_factory: SqlUnitOfWorkFactory) -> None:
    starts = last_days(START, "UTC").starts
    with uow_factory() as uow:
        counted = uow.dashboard.counts(987654, START, starts)
    assert counted.contacts.total == counted.opted_out == counted.imports.imports == 0
    assert set(counted.campaigns_by_status.values()) == {0}
    assert counted.messages == Activity()
    assert counted.activity == [Activity()] * (len(starts) - 1)


# -- the migration and the indexes -----------------------------------------------------------


@only_sqlite
def test_the_dashboard_reads_ranges_of_indexes_not_every_row(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    with uow_factory.engine.connect() as connection:

        def plan(statement: str) -> str:
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement).all()
            return " ".join(str(row[-1]) for row in rows)

        recent = plan(
            "SELECT count(*) FROM contacts WHERE user_id = 1 AND created_at >= '2026-11-20'"
        )
        assert "USING COVERING INDEX ix_contacts_user_id_created_at" in recent
        activity = plan(
            "SELECT bucket, sum(sent) FROM delivery_activity "
            "WHERE user_id = 1 AND bucket >= 10 AND bucket < 20 GROUP BY bucket"
        )
        assert "SEARCH delivery_activity USING" in activity
        assert "bucket>? AND bucket<?" in activity.replace("=", "")


def test_contact_counts_follow_every_writer_and_a_deleted_user_leaves_none(
    uow_factory: SqlUnitOfWorkFactory, add_user: Any
) -> None:
    """The triggers count whatever writes contacts, plain SQL included, in bulk or not."""
    ana, bob = add_user("ana@example.com"), add_user("bob@example.com")
    c = tables.contacts
    row = {"name": "X", "name_key": "x", "email": None, "tags": "", "notes": None}
    row |= {"source": "manual", "created_at": START, "updated_at": START}
    with uow_factory.engine.begin() as connection:
        connection.execute(
            sa.insert(c),
            [
                {**row, "user_id": owner, "phone": f"+3460{n:07d}", "status": status,
                 "opted_out": n % 3 == 0}
                for n, (owner, status) in enumerate(
                    [(ana.id, "activo")] * 5 + [(ana.id, "inactivo")] * 2 + [(bob.id, "activo")]
                )
            ],
        )  # fmt: skip
        connection.execute(
            sa.update(c).where(c.c.phone == "+34600000001").values(status="inactivo")
        )
        connection.execute(sa.update(c).where(c.c.user_id == ana.id).values(opted_out=True))
        connection.execute(sa.delete(c).where(c.c.phone == "+34600000000"))

    def counted(user_id: int) -> tuple[int, int, int]:
        with uow_factory() as uow:
            stats = uow.contacts.stats(user_id, START)
            return stats.total, stats.active, uow.contacts.count_opted_out(user_id)

    assert counted(ana.id) == (6, 3, 6)
    assert counted(bob.id) == (1, 1, 0)
    with uow_factory(write=True) as uow:
        uow.users.delete(ana.id)
        uow.commit()
    assert counted(bob.id) == (1, 1, 0)
