"""Dispatch benchmarks: how fast one campaign is sent, and what a dispatcher costs.

    python bench/dispatch.py [--database sqlite|postgresql] [--scenarios instant,slow,memory]
                             [--workers 1,2] [--write docs/PERFORMANCE.md]

Each scenario seeds a fresh database (one user, N contacts imported, a WhatsApp campaign to
all of them, started with ``send_campaign``), lifts the user's pace (``send_rate_per_minute``
set far above what the API accepts, straight in the database: the engine, not the pace, is
measured), then starts dispatcher processes and times the campaign from the first claim to
``completed``:

- ``instant``: 20,000 recipients; the dispatcher is the ``nexus worker`` loop (``Dispatcher``
  with its defaults) over an in-process channel that answers at once, so what is measured is
  the engine: claims, leases, outcomes, counters. Run with 1 and, on PostgreSQL, 2 processes.
- ``slow``: 2,000 recipients; a real ``nexus worker`` process and its WhatsApp channel against
  the Cloud API double of the tests, answering every message after 250 ms.
- ``memory``: 100,000 recipients through one instant dispatcher; its peak RSS (VmHWM).

Every run checks the outcome: every delivery ``sent``, one channel call per recipient.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from run import fresh_database, write_measurement  # bench/run.py, beside this script
from sqlalchemy import func, select, update

from nexus_adapters.bootstrap import Adapters, build_adapters
from nexus_adapters.config import Settings
from nexus_adapters.sql.migrate import upgrade
from nexus_adapters.sql.tables import campaigns, deliveries, users
from nexus_adapters.worker import Dispatcher
from nexus_core.domain.outbound import ChannelAccount, OutboundMessage, SendResult
from nexus_core.use_cases import accounts, campaign_actions, profile
from nexus_core.use_cases.campaigns import create_campaign
from nexus_core.use_cases.contact_imports import import_contacts

PROJECT = Path(__file__).resolve().parents[1]
BENCH_PASSWORD = "bench-password-1"  # noqa: S105 (a throwaway account in a throwaway database)

# Far above the API's 600 a minute: one message every microsecond.
LIFTED_RATE = 2_000_000_000
SCENARIOS = {"instant": 20_000, "slow": 2_000, "memory": 100_000}
SLOW_SECONDS = 0.25
GOALS = {"instant": "≥ 1,000 deliveries/s", "slow": "≥ 80 messages/s", "memory": "≤ 150 MiB"}


def log(*parts: object) -> None:
    print("[dispatch-bench]", *parts, file=sys.stderr, flush=True)


class InstantChannel:
    """A ``MessageChannel`` that accepts every message at once."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._prefix = secrets.token_hex(4)

    def send(self, account: ChannelAccount, message: OutboundMessage) -> SendResult:
        return SendResult.sent(f"wamid.bench.{self._prefix}.{next(self._ids)}")


# --- the database ---------------------------------------------------------------------------


def settings_for(url: str, **extra: Any) -> Settings:
    return Settings(
        database_url=url,
        auth_rate_per_minute=0,
        import_rate_per_minute=0,
        secret_key="bench-" + "k" * 40,
        **extra,
    )


def seed(adapters: Adapters, recipients: int, workdir: Path) -> int:
    """A user with WhatsApp credentials and ``recipients`` contacts, and a campaign to all of
    them, started (its deliveries snapshotted) with the pace lifted. The campaign's id."""
    upgrade(adapters.engine)
    ports = adapters.ports
    owner = accounts.register(
        ports, email="bench@example.com", password=BENCH_PASSWORD, name="Bench"
    ).user
    owner = profile.update_profile(
        ports,
        owner.id,
        {"whatsapp_api_key": "EAAG-bench-token", "whatsapp_phone_number_id": "1098765"},
    )
    csv = workdir / "contacts.csv"
    with csv.open("w") as out:
        out.write("name,phone\n")
        for n in range(recipients):
            out.write(f"Contacto {n},+3460{n:07d}\n")
    with csv.open("rb") as content:
        import_contacts(ports, owner, filename="contacts.csv", content=content)
    draft = create_campaign(
        ports,
        owner.id,
        {"name": "Bench", "message": "Hola {nombre}", "audience": {"all_contacts": True}},
    )
    started = campaign_actions.send_campaign(ports, owner, draft.id)
    assert started.total_recipients == recipients, started.total_recipients
    with adapters.engine.begin() as connection:
        connection.execute(update(users).values(send_rate_per_minute=LIFTED_RATE))
    return started.id


def campaign_state(adapters: Adapters, campaign_id: int) -> tuple[str, int]:
    """The campaign's status and ``sent_count``."""
    with adapters.engine.connect() as connection:
        row = connection.execute(
            select(campaigns.c.status, campaigns.c.sent_count).where(campaigns.c.id == campaign_id)
        ).one()
    return row.status, row.sent_count


def check_outcome(adapters: Adapters, campaign_id: int, recipients: int) -> None:
    with adapters.engine.connect() as connection:
        counts = dict(
            connection.execute(
                select(deliveries.c.status, func.count())
                .where(deliveries.c.campaign_id == campaign_id)
                .group_by(deliveries.c.status)
            ).all()
        )
        calls = connection.execute(
            select(func.sum(deliveries.c.attempts)).where(deliveries.c.campaign_id == campaign_id)
        ).scalar()
    if counts != {"sent": recipients} or calls != recipients:
        raise RuntimeError(f"unexpected outcome: {counts}, {calls} channel calls")


# --- the dispatchers ------------------------------------------------------------------------


def run_child(url: str) -> None:
    """A dispatcher process as ``nexus worker`` runs one, over the instant channel."""
    adapters = build_adapters(settings_for(url))
    dispatcher = Dispatcher(adapters.ports, {"whatsapp": InstantChannel()})
    dispatcher.stop_on_signals()
    dispatcher.run()
    adapters.close()


def start_dispatchers(
    url: str, how_many: int, channel: str, cloud_url: str
) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": settings_for(url).secret_key or ""}
    if channel == "instant":
        command = [sys.executable, __file__, "--child", url]
    else:
        env["NEXUS_WHATSAPP_API_URL"] = cloud_url
        command = [sys.executable, "-m", "nexus_http.cli", "worker"]
    return [
        subprocess.Popen(command, env=env, cwd=PROJECT, stderr=subprocess.DEVNULL)
        for _ in range(how_many)
    ]


def peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def run_scenario(kind: str, scenario: str, workers: int, recipients: int) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="nexus-dispatch-") as tmp,
        fresh_database(kind, Path(tmp)) as url,
    ):
        workdir = Path(tmp)
        adapters = build_adapters(settings_for(url))
        try:
            log(f"{scenario} on {kind}: seeding {recipients:,} recipients")
            campaign_id = seed(adapters, recipients, workdir)
            with cloud_double(scenario) as cloud_url:
                processes = start_dispatchers(
                    url, workers, "cloud" if scenario == "slow" else "instant", cloud_url
                )
                try:
                    started, peak = time.perf_counter(), 0.0
                    first_sent_at: float | None = None
                    while True:
                        status, sent = campaign_state(adapters, campaign_id)
                        now = time.perf_counter()
                        if sent and first_sent_at is None:
                            first_sent_at = now
                        peak = max([peak, *(peak_rss_mib(p.pid) for p in processes)])
                        if status != "active":
                            break
                        if any(p.poll() is not None for p in processes):
                            raise RuntimeError("a dispatcher exited")
                        if now - started > 900:
                            raise RuntimeError(f"not done after 900 s ({sent} sent)")
                        time.sleep(0.05)
                    finished = time.perf_counter()
                finally:
                    stop_all(processes)
            check_outcome(adapters, campaign_id, recipients)
        finally:
            adapters.close()
    seconds = finished - (first_sent_at or started)
    result = {
        "scenario": scenario,
        "database": kind,
        "workers": workers,
        "recipients": recipients,
        "seconds": round(seconds, 2),
        "per_second": round(recipients / seconds),
        "peak_rss_mib": round(peak),
    }
    log(result)
    return result


@contextlib.contextmanager
def cloud_double(scenario: str) -> Iterator[str]:
    if scenario != "slow":
        yield ""
        return
    sys.path.insert(0, str(PROJECT))  # the Cloud API double of the tests
    from tests.doubles.whatsapp_cloud import WhatsAppCloudDouble

    with WhatsAppCloudDouble(delay=SLOW_SECONDS) as cloud:
        yield cloud.base_url


# --- the report -----------------------------------------------------------------------------


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| scenario | database | dispatchers | recipients | seconds | per second "
        "| peak RSS MiB | goal |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r['scenario']} | {r['database']} | {r['workers']} | {r['recipients']:,} | "
            f"{r['seconds']} | {r['per_second']:,} | {r['peak_rss_mib']} | {GOALS[r['scenario']]} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--scenarios", default="instant,slow,memory")
    parser.add_argument("--workers", default="1", help="dispatcher counts for instant, e.g. 1,2")
    parser.add_argument("--recipients", type=int, help="instead of each scenario's own")
    parser.add_argument("--write", metavar="FILE")
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_child(args.child)
        return 0
    results = []
    for scenario in args.scenarios.split(","):
        counts = [int(n) for n in args.workers.split(",")] if scenario == "instant" else [1]
        for workers in counts:
            recipients = args.recipients or SCENARIOS[scenario]
            results.append(run_scenario(args.database, scenario, workers, recipients))
    report = table(results)
    print(report)
    if args.write:
        write_measurement(
            Path(args.write), f"dispatch-{args.database}", "bench/dispatch.py", argv, report
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
