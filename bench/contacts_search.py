#!/usr/bin/env python3
"""Contacts at scale: a bulk import of N contacts for one user, then list, search and export.

usage: python bench/contacts_search.py [--database sqlite|postgresql] [--contacts 100000]
           [--calls 200] [--postgres-url URL]

Builds a fresh database with the real migrations (a SQLite file in a temporary folder, or a new
PostgreSQL database on the server of ``--postgres-url``, dropped afterwards), seeds the
contacts through ``ContactRepository.import_batch`` in batches of 1,000 (as an import does),
then times ``page()`` through read-only units of work, each scenario ``--calls`` times, and
prints p50/p99 in milliseconds: read afresh each time (what a new query costs), then as a server
process answers a page asked again while the contacts are unchanged (remembered). PostgreSQL
gets a VACUUM ANALYZE after the seeding, as autovacuum would give it within a minute (planner
statistics, visibility map for index-only counts); SQLite gets no ANALYZE, as the application
never runs one.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import sqlalchemy as sa
from cryptography.fernet import Fernet

from nexus_adapters.security.secret_box import FernetSecretBox
from nexus_adapters.sql.engine import build_engine
from nexus_adapters.sql.migrate import upgrade
from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_core.domain.contact_imports import ImportedRow
from nexus_core.domain.contact_queries import ContactQuery
from nexus_core.domain.contact_records import Contact
from nexus_core.domain.contacts import ContactDraft
from nexus_core.domain.users import Registration

BATCH = 1000
FIRST_NAMES = (
    "Ana", "Luis", "María", "José", "Carmen", "Javier", "Lucía", "Pedro", "Elena", "Raúl",
    "Sofía", "Diego", "Marta", "Pablo", "Laura", "Jorge", "Paula", "Sergio", "Irene", "Álvaro",
)  # fmt: skip
SURNAMES = (
    "García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez", "Pérez",
    "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez",
    "Romero", "Alonso", "Gutiérrez", "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos",
    "Gil", "Ramírez", "Serrano", "Blanco", "Molina",
)  # fmt: skip
TAGS = ("vip", "cliente", "proveedor", "newsletter", "madrid", "barcelona", "lead", "b2b")
SCENARIOS: dict[str, ContactQuery] = {
    "first page (-created_at)": ContactQuery(),
    "page 50 by name": ContactQuery(page=50, sort="name"),
    "search=garc": ContactQuery(search="garc"),
    "search=GARCÍA (folded)": ContactQuery(search="GARCÍA"),
    "search=ga (2 chars)": ContactQuery(search="ga"),
    "search=600 12 (phone digits)": ContactQuery(search="600 12"),
    "search=no-such-name": ContactQuery(search="zzqx"),
    "tags=vip": ContactQuery(tags=("vip",)),
    "tags=vip,b2b": ContactQuery(tags=("vip", "b2b")),
    "status=inactivo": ContactQuery(status="inactivo"),
    "search=garc + tags=vip": ContactQuery(search="garc", tags=("vip",)),
}


def rows(count: int, seed: int = 7) -> Iterator[ImportedRow]:
    pick = random.Random(seed)
    for number in range(count):
        name = f"{pick.choice(FIRST_NAMES)} {pick.choice(SURNAMES)} {pick.choice(SURNAMES)}"
        draft = ContactDraft(
            name=name,
            phone=f"+346{(number * 7919) % 10**8:08d}",
            email=f"cliente{number}@example.com" if pick.random() < 0.8 else None,
            status="activo" if pick.random() < 0.9 else "inactivo",
            tags=tuple(pick.sample(TAGS, pick.randint(0, 3))),
        )
        yield ImportedRow(number + 2, draft, frozenset({"name", "phone", "email", "tags"}))


def write_one_import(
    uow_factory: SqlUnitOfWorkFactory, user_id: int, seed: list[ImportedRow], now: datetime
) -> float:
    """Seconds to write ``seed`` as an import does: ``BATCH`` rows at a time through
    ``import_batch`` (under ``skip``), all in one transaction."""
    started = time.perf_counter()
    with uow_factory(write=True) as uow:
        for start in range(0, len(seed), BATCH):
            uow.contacts.import_batch(user_id, seed[start : start + BATCH], "skip", now)
        uow.commit()
    return time.perf_counter() - started


@contextlib.contextmanager
def database(kind: str, postgres_url: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    server = sa.make_url(postgres_url)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"nexus_bench_{secrets.token_hex(4)}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def timed(calls: int, run: Callable[[], object]) -> tuple[float, float]:
    """p50 and p99 of ``calls`` runs, in milliseconds (after one warm-up run)."""
    run()
    spent = []
    for _ in range(calls):
        started = time.perf_counter()
        run()
        spent.append((time.perf_counter() - started) * 1000)
    quantiles = statistics.quantiles(spent, n=100, method="inclusive")
    return statistics.median(spent), quantiles[98]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args(argv)
    now = datetime.now(UTC)
    with database(args.database, args.postgres_url) as url:
        engine = build_engine(url, pool_size=4)
        upgrade(engine)
        secret_box = FernetSecretBox([Fernet.generate_key().decode()])
        uow_factory = SqlUnitOfWorkFactory(engine, secret_box, contact_pages_remembered=0)
        with uow_factory(write=True) as uow:
            user = uow.users.add(Registration("bench@example.com", "Bench", None, None), "h", now)
            uow.commit()
        seed = list(rows(args.contacts))
        seconds = write_one_import(uow_factory, user.id, seed, now)
        print(f"{args.database}: imported {args.contacts:,} contacts in {seconds:.2f} s "
              f"({args.contacts / seconds:,.0f} rows/s)")  # fmt: skip
        started = time.perf_counter()
        with uow_factory(write=True) as uow:
            settled = uow.contacts.import_batch(user.id, seed[: BATCH * 10], "update", now)
            uow.commit()
        seconds = time.perf_counter() - started
        print(f"{args.database}: re-imported {len(settled):,} existing rows under update "
              f"in {seconds:.2f} s")  # fmt: skip
        if args.database == "postgresql":
            options = {"isolation_level": "AUTOCOMMIT"}
            with engine.connect().execution_options(**options) as connection:
                connection.exec_driver_sql("VACUUM ANALYZE contacts")

        def page(query: ContactQuery) -> Callable[[], tuple[list[Contact], int]]:
            def run() -> tuple[list[Contact], int]:
                with uow_factory() as uow:
                    return uow.contacts.page(user.id, query)

            return run

        print(f"{'scenario':32} {'matches':>8} {'p50 ms':>8} {'p99 ms':>8}   (read afresh)")
        for label, query in SCENARIOS.items():
            total = page(query)()[1]
            p50, p99 = timed(args.calls, page(query))
            print(f"{label:32} {total:>8} {p50:8.2f} {p99:8.2f}")
        # What a server process answers for a page asked again while the contacts are unchanged.
        fresh_factory, uow_factory = uow_factory, SqlUnitOfWorkFactory(engine, secret_box)
        print(f"{'scenario':32} {'matches':>8} {'p50 ms':>8} {'p99 ms':>8}   (remembered)")
        for label, query in SCENARIOS.items():
            total = page(query)()[1]
            p50, p99 = timed(args.calls, page(query))
            print(f"{label:32} {total:>8} {p50:8.2f} {p99:8.2f}")
        uow_factory.close()
        uow_factory = fresh_factory

        def stats() -> object:
            with uow_factory() as uow:
                return uow.contacts.stats(user.id, now)

        p50, p99 = timed(args.calls, stats)
        print(f"{'stats':32} {'':>8} {p50:8.2f} {p99:8.2f}")
        started = time.perf_counter()
        with uow_factory() as uow:
            exported = sum(1 for _ in uow.contacts.stream(user.id, ContactQuery()))
        seconds = time.perf_counter() - started
        print(f"{args.database}: streamed {exported:,} contacts (export) in {seconds:.2f} s")
        uow_factory.close()
        engine.dispose()


if __name__ == "__main__":
    main()
