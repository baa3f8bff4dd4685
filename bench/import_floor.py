#!/usr/bin/env python3
"""What a 100,000-row import costs the database alone, with and without the search indexes.

usage: python bench/import_floor.py [--database sqlite|postgresql] [--rows 100000] [--rounds 3]
           [--postgres-url URL]

The import's wall time has two halves: reading and checking the file (Python), and writing
the rows (mostly the database's own work: the table, its unique and list indexes, the
contact counters and the substring-search index). This measures the second half by itself,
for each of these schemas, each on a fresh database built by the real migrations:

- ``as migrated``: what an import really writes to;
- ``without the search index``: SQLite's FTS5 trigger (PostgreSQL: the four GIN trigram
  indexes) dropped, i.e. what substring search costs a bulk write;
- ``without search or list indexes``: also the three B-tree indexes behind sorting and the
  status filter: only the table, its primary key and the unique (owner, phone/email) indexes.

Rows are made in memory first (``bench/contacts_search.py``'s contacts) and written through
``ContactRepository.import_batch`` in batches of 1,000 in one transaction, exactly as an import
writes them (``contacts_search.write_one_import``). Variants run interleaved, round after
round, so a machine that slows down or speeds up during the run moves them alike; the best
and the median of each are printed.
Compare with ``python bench/run.py --reference --scenarios import`` run at the same time:
the reference's whole import against this floor of ours.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from datetime import UTC, datetime

from contacts_search import database, rows, write_one_import
from cryptography.fernet import Fernet
from sqlalchemy import Connection

from nexus_adapters.security.secret_box import FernetSecretBox
from nexus_adapters.sql.engine import build_engine
from nexus_adapters.sql.migrate import upgrade
from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_core.domain.contact_imports import ImportedRow
from nexus_core.domain.users import Registration

LIST_INDEXES = (
    "ix_contacts_user_id_created_at",
    "ix_contacts_user_id_name_key",
    "ix_contacts_user_id_status",
)
POSTGRES_SEARCH_INDEXES = tuple(
    f"ix_contacts_{column}_trigrams" for column in ("name_key", "email", "phone", "tags")
)


def _drop_search_index(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("DROP TRIGGER contacts_search_insert")
    else:
        for index in POSTGRES_SEARCH_INDEXES:
            connection.exec_driver_sql(f"DROP INDEX {index}")


def _drop_search_and_list_indexes(connection: Connection) -> None:
    _drop_search_index(connection)
    for index in LIST_INDEXES:
        connection.exec_driver_sql(f"DROP INDEX {index}")


VARIANTS: dict[str, Callable[[Connection], None]] = {
    "as migrated": lambda connection: None,
    "without the search index": _drop_search_index,
    "without search or list indexes": _drop_search_and_list_indexes,
}


def write_once(
    kind: str, postgres_url: str, prepare: Callable[[Connection], None], seed: list[ImportedRow]
) -> float:
    """Seconds to write ``seed`` as one import into a fresh database prepared by ``prepare``."""
    now = datetime.now(UTC)
    with database(kind, postgres_url) as url:
        engine = build_engine(url, pool_size=2)
        try:
            upgrade(engine)
            with engine.begin() as connection:
                prepare(connection)
            secret_box = FernetSecretBox([Fernet.generate_key().decode()])
            uow_factory = SqlUnitOfWorkFactory(engine, secret_box)
            with uow_factory(write=True) as uow:
                owner = Registration("floor@example.com", "Floor", None, None)
                user = uow.users.add(owner, "h", now)
                uow.commit()
            return write_one_import(uow_factory, user.id, seed, now)
        finally:
            engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args(argv)
    seed = list(rows(args.rows))
    spent: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for round_number in range(1, args.rounds + 1):
        for name, prepare in VARIANTS.items():
            seconds = write_once(args.database, args.postgres_url, prepare, seed)
            spent[name].append(seconds)
            print(f"round {round_number}: {name}: {seconds:.2f} s", flush=True)
    print(f"\n{args.database}, {args.rows:,} rows written as one import (seconds)")
    print(f"{'schema':34s} {'best':>6s} {'median':>7s}")
    for name, runs in spent.items():
        print(f"{name:34s} {min(runs):6.2f} {statistics.median(runs):7.2f}")


if __name__ == "__main__":
    main()
