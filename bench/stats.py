"""Dashboard benchmark: ``GET /api/stats`` for a big account, through the real ASGI app.

    python bench/stats.py [--database sqlite|postgresql] [--requests 500]
                          [--write docs/PERFORMANCE.md]

Seeds a fresh database (migrated as in production) with one user owning 100,000 contacts
(created over the last 60 days, 10 % inactive, 5 % opted out), 2 completed imports, 200
campaigns and 1,000,000 deliveries (5,000 per campaign, in every status, reached over the
last 60 days: about half of them within ``daily``'s 30), written with bulk inserts (``COPY``
on PostgreSQL) together with the counters the application keeps: the campaigns' counters and
``delivery_activity``, computed from the same rows. The database is then analysed (and
vacuumed, on PostgreSQL), as the autovacuum would have done.

Then it logs in through the app and times ``GET /api/stats`` one request after another
(after 30 unrecorded ones), each from the request's start to its full body, with Litestar's
TestClient over the app that ``nexus serve`` runs (production settings, its middleware and
session lookup included): first with the contacts unchanged between requests (the count of
new contacts is remembered), then with the user's contacts version moved before each
request, untimed, as any write of contacts moves it (the week's contacts are counted
again). It checks the answers against the seeded rows and prints p50, p90, p99 and the
maximum of each. The goal, for both: p50 ≤ 20 ms and p99 ≤ 60 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from litestar.testing import TestClient
from run import fresh_database, write_measurement  # bench/run.py, beside this script
from sqlalchemy import Engine, insert, text, update

from nexus_adapters.bootstrap import Adapters, build_adapters
from nexus_adapters.config import Settings
from nexus_adapters.sql.migrate import upgrade
from nexus_adapters.sql.repositories.contacts import touch_contacts
from nexus_adapters.sql.tables import (
    campaigns,
    contact_imports,
    contacts,
    deliveries,
    delivery_activity,
)
from nexus_core.domain.campaign_status import CAMPAIGN_STATUSES
from nexus_core.domain.dashboard import MILESTONES, bucket_of, reached
from nexus_core.domain.deliveries import DeliveryStatus, count_deliveries
from nexus_core.use_cases import accounts
from nexus_http.app import create_app


@dataclasses.dataclass(frozen=True)
class Size:
    contacts: int = 100_000
    campaigns: int = 200
    per_campaign: int = 5_000  # deliveries


# ``--smoke``: the same run on a small account, to check the script, not to measure.
SMOKE = Size(contacts=2_000, campaigns=14, per_campaign=500)
EMAIL = "bench@example.com"
PASSWORD = "bench-password-1"  # noqa: S105 (a throwaway account in a throwaway database)
ORIGIN = "https://app.example.com"
GOAL = "p50 ≤ 20 ms, p99 ≤ 60 ms"
STATUS_WEIGHTS: dict[DeliveryStatus, int] = {
    "sent": 40,
    "delivered": 28,
    "read": 15,
    "failed": 10,
    "pending": 4,
    "skipped": 3,
}
CHUNK = 20_000


def log(*parts: object) -> None:
    print("[stats-bench]", *parts, file=sys.stderr, flush=True)


def settings_for(url: str) -> Settings:
    return Settings(
        database_url=url,
        env="production",
        secret_key="bench-" + "k" * 40,
        auth_rate_per_minute=0,
        import_rate_per_minute=0,
        cors_origins=(ORIGIN,),
        db_pool_size=4,
    )


# --- seeding ----------------------------------------------------------------------------------


def bulk_insert(
    engine: Engine, table: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Insert rows fast: ``COPY`` on PostgreSQL, ``executemany`` on SQLite."""
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            names = ", ".join(columns)
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            raw.commit()
        finally:
            raw.close()
        return
    with engine.begin() as connection:
        for start in range(0, len(rows), CHUNK):
            connection.execute(
                insert(table),
                [dict(zip(columns, row, strict=True)) for row in rows[start : start + CHUNK]],
            )


def seed(engine: Engine, user_id: int, now: datetime.datetime, size: Size) -> dict[str, Any]:
    """The rows, and what the dashboard must say about them."""
    rng = random.Random(5)
    log(f"seeding {size.contacts:,} contacts")
    week_ago = now - datetime.timedelta(days=7)
    contact_rows = []
    expected: Counter[str] = Counter()
    for n in range(size.contacts):
        created = now - datetime.timedelta(seconds=rng.randrange(60 * 86_400))
        if abs(created - week_ago) < datetime.timedelta(hours=1):
            created -= datetime.timedelta(hours=2)  # clear of the edge the run moves over
        status = "inactivo" if rng.random() < 0.10 else "activo"
        opted_out = rng.random() < 0.05
        expected["total_contacts"] += 1
        expected["active_contacts" if status == "activo" else "inactive_contacts"] += 1
        expected["opted_out_contacts"] += opted_out
        expected["new_contacts"] += created >= week_ago
        name = f"Contacto {n}"
        contact_rows.append(
            (user_id, name, name.lower(), f"+3460{n:07d}", None, status, "", None, opted_out,
             "import" if n % 2 else "manual", created, created, None)
        )  # fmt: skip
    bulk_insert(
        engine,
        contacts,
        ["user_id", "name", "name_key", "phone", "email", "status", "tags", "notes", "opted_out",
         "source", "created_at", "updated_at", "last_message"],
        contact_rows,
    )  # fmt: skip
    del contact_rows
    with engine.begin() as connection:
        touch_contacts(connection, user_id)  # as every writer of contacts must
    with engine.begin() as connection:
        for imported in (30_000, 20_000):
            connection.execute(
                insert(contact_imports).values(
                    user_id=user_id,
                    filename="clientes.csv",
                    file_type="csv",
                    status="completed",
                    total_rows=imported,
                    contacts_imported=imported,
                    created_at=now,
                    completed_at=now,
                )
            )
    expected["imports"], expected["contacts_imported"] = 2, 50_000

    log(f"seeding {size.campaigns} campaigns and {size.campaigns * size.per_campaign:,} deliveries")
    campaign_statuses = [
        CAMPAIGN_STATUSES[n % len(CAMPAIGN_STATUSES)] for n in range(size.campaigns)
    ]
    with engine.begin() as connection:
        campaign_ids = [
            connection.execute(
                insert(campaigns)
                .values(
                    user_id=user_id,
                    name=f"Campaña {n}",
                    channel="whatsapp",
                    message="Hola {nombre}",
                    audience_all_contacts=True,
                    audience_tags="[]",
                    audience_contact_ids="[]",
                    status=status,
                    created_at=now,
                    updated_at=now,
                )
                .returning(campaigns.c.id)
            ).scalar_one()
            for n, status in enumerate(campaign_statuses)
        ]
    first_contact = engine.connect().execute(text("SELECT min(id) FROM contacts")).scalar_one()
    population = list(STATUS_WEIGHTS)
    weights = list(STATUS_WEIGHTS.values())
    activity: Counter[tuple[int, str]] = Counter()
    totals: Counter[str] = Counter()
    columns = ["campaign_id", "user_id", "contact_id", "address", "name", "status", "error",
               "attempts", "provider_message_id", "next_attempt_at", "created_at", "updated_at",
               *(f"{m}_at" for m in MILESTONES)]  # fmt: skip
    serial = 0
    for index, campaign_id in enumerate(campaign_ids):
        rows = []
        statuses = rng.choices(population, weights, k=size.per_campaign)
        offset = (index * size.per_campaign) % size.contacts
        for k, status in enumerate(statuses):
            serial += 1
            contact = (offset + k) % size.contacts
            moment = now - datetime.timedelta(seconds=rng.randrange(60 * 86_400))
            marks = {}
            for m, milestone in enumerate(reached(status)):
                at = moment + datetime.timedelta(minutes=5 * m)
                marks[milestone] = at
                activity[bucket_of(at), milestone] += 1
            rows.append(
                (campaign_id, user_id, first_contact + contact, f"+3460{contact:07d}",
                 f"Contacto {contact}", status, "131026" if status == "failed" else None,
                 0 if status in {"pending", "skipped"} else 1,
                 f"wamid.bench.{serial}" if status not in {"pending", "skipped"} else None,
                 moment if status == "pending" else None, moment,
                 max(marks.values(), default=moment),
                 *(marks.get(m) for m in MILESTONES))
            )  # fmt: skip
        counted = count_deliveries(statuses)
        bulk_insert(engine, deliveries, columns, rows)
        with engine.begin() as connection:
            connection.execute(
                update(campaigns)
                .where(campaigns.c.id == campaign_id)
                .values(
                    total_recipients=counted.total_recipients,
                    **dataclasses.asdict(counted),
                )
            )
        for milestone in MILESTONES:
            totals[milestone] += sum(milestone in reached(s) for s in statuses)
        if (index + 1) % 40 == 0:
            log(f"  {(index + 1) * size.per_campaign:,} deliveries")
    by_bucket: dict[int, dict[str, int]] = {}
    for (bucket, reached_there), how_many in activity.items():
        by_bucket.setdefault(bucket, dict.fromkeys(MILESTONES, 0))[reached_there] = how_many
    bulk_insert(
        engine,
        delivery_activity,
        ["user_id", "bucket", *MILESTONES],
        [(user_id, bucket, *(c[m] for m in MILESTONES)) for bucket, c in sorted(by_bucket.items())],
    )
    log("analysing")
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    expected.update(
        total_campaigns=size.campaigns,
        total_messages_sent=totals["sent"],
        delivered=totals["delivered"],
        read=totals["read"],
        failed=totals["failed"],
    )
    return dict(expected)


# --- timing -----------------------------------------------------------------------------------


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# What happens to the user's contacts between two timed requests.
BETWEEN = ("unchanged", "version moved")


def timed(
    settings: Settings, adapters: Adapters, user_id: int, requests: int
) -> dict[str, tuple[list[float], Any]]:
    """Milliseconds per ``GET /api/stats`` of the logged-in user, and the last response, for
    each of ``BETWEEN``."""
    app = create_app(settings, adapters=adapters)
    found = {}
    with TestClient(app, base_url="https://testserver.local") as client:
        client.headers["Origin"] = ORIGIN
        login = client.post("/api/auth/login", json={"email": EMAIL, "password": PASSWORD})
        assert login.status_code == 200, login.text
        for _ in range(30):
            assert client.get("/api/stats").status_code == 200
        for between in BETWEEN:
            samples = []
            for _ in range(requests):
                if between == "version moved":
                    with adapters.engine.begin() as connection:
                        touch_contacts(connection, user_id)
                began = time.perf_counter()
                response = client.get("/api/stats")
                body = response.content
                samples.append((time.perf_counter() - began) * 1000)
                assert response.status_code == 200, body
            found[between] = samples, response
    return found


def run(kind: str, requests: int, size: Size) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as workdir, fresh_database(kind, Path(workdir)) as url:
        settings = settings_for(url)
        adapters = build_adapters(settings)
        upgrade(adapters.engine)
        owner = accounts.register(adapters.ports, email=EMAIL, password=PASSWORD, name="Bench").user
        now = datetime.datetime.now(datetime.UTC)
        started = time.perf_counter()
        expected = seed(adapters.engine, owner.id, now, size)
        seeded = time.perf_counter() - started
        # The access log is written as by `nexus serve`, to nowhere: not the terminal's time.
        with open(os.devnull, "w") as nowhere, contextlib.redirect_stdout(nowhere):
            runs = timed(settings, adapters, owner.id, requests)
        rows = []
        for between, (samples, response) in runs.items():
            found = response.json()["stats"]
            for name, value in expected.items():
                assert found[name] == value, (name, found[name], value)
            assert len(found["daily"]) == 30
            window_sent = sum(row["sent"] for row in found["daily"])
            assert 0 < window_sent < found["total_messages_sent"]
            rows.append(
                {
                    "between": between,
                    "p50": statistics.median(samples),
                    "p90": percentile(samples, 0.90),
                    "p99": percentile(samples, 0.99),
                    "max": max(samples),
                }
            )
        return {
            "database": kind,
            "seeded_s": seeded,
            "requests": requests,
            "rows": rows,
            "window_sent": window_sent,
            "size": size,
        }


def table(result: dict[str, Any]) -> str:
    size = result["size"]
    lines = [
        f"| {result['database']} | {row['between']} | {result['requests']} | {row['p50']:.1f} ms "
        f"| {row['p90']:.1f} ms | {row['p99']:.1f} ms | {row['max']:.1f} ms | {GOAL} |\n"
        for row in result["rows"]
    ]
    return (
        "| database | contacts between requests | requests | p50 | p90 | p99 | max | goal |\n"
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |\n"
        + "".join(lines)
        + f"\n{size.contacts:,} contacts, {size.campaigns} campaigns, "
        f"{size.campaigns * size.per_campaign:,} deliveries ({result['window_sent']:,} sent "
        "within the last 30 days); seeded in "
        f"{result['seeded_s']:.0f} s.\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--write", metavar="FILE")
    parser.add_argument("--smoke", action="store_true", help="a small account: checks the script")
    args = parser.parse_args(argv)
    result = run(args.database, args.requests, SMOKE if args.smoke else Size())
    report = table(result)
    print(report)
    if args.write:
        write_measurement(
            Path(args.write), f"stats-{args.database}", "bench/stats.py", argv, report
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
