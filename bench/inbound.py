"""Inbound webhook burst: how fast ``nexus serve`` accepts inbound WhatsApp messages.

    python bench/inbound.py [--database sqlite|postgresql] [--calls 1000] [--concurrency 32]
                            [--workers 2] [--write docs/PERFORMANCE.md]

A fresh database and a real ``nexus serve`` (``--workers`` processes; on SQLite it also runs
its in-process dispatcher, as in production); one user owns the business number, with the AI
replies off (what is measured is the webhook, not Gemini). ``--calls`` signed webhook calls,
each carrying one text message (from 200 senders, so most land on an existing contact and
conversation and some create them), are posted ``--concurrency`` at a time, as Meta's
delivery does; then the same burst is posted again (Meta repeats calls it doubts). The
figure is calls accepted per second over the first burst. Every call must answer 200, and
the database must hold every message exactly once afterwards, on one contact per sender (and
the user's contact count must say so). A call answers once its messages are committed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from run import clean_env, free_port, fresh_database, local_only, serve, write_measurement
from sqlalchemy import create_engine, func, select

from nexus_adapters.config import normalise_database_url
from nexus_adapters.sql.tables import contacts, conversation_messages, users

ORIGIN = "http://localhost:5173"
APP_SECRET = "bench-app-secret-" + secrets.token_hex(8)
PHONE_NUMBER_ID = "1098765"
SENDERS = 200
GOAL = 500.0  # calls a second
START_TIMEOUT = 60


def log(*parts: object) -> None:
    print("[inbound-bench]", *parts, file=sys.stderr, flush=True)


def bodies(calls: int) -> list[bytes]:
    """``calls`` raw webhook bodies, one message each, every message id distinct."""
    run = secrets.token_hex(4)
    now = int(time.time())
    made = []
    for n in range(calls):
        sender = f"3460{n % SENDERS:07d}"
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "34910000000", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": f"Cliente {n % SENDERS}"}, "wa_id": sender}],
            "messages": [
                {
                    "from": sender,
                    "id": f"wamid.bench.{run}.{n}",
                    "timestamp": str(now),
                    "type": "text",
                    "text": {"body": f"Hola, mensaje {n}"},
                }
            ],
        }
        body = {
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
        }
        made.append(json.dumps(body).encode())
    return made


def signature(raw: bytes) -> str:
    return "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()


def requests_of(port: int, raws: list[bytes]) -> list[bytes]:
    """Each body as a complete HTTP/1.1 request, signed, ready to write to a socket."""
    made = []
    for raw in raws:
        head = (
            "POST /api/webhooks/whatsapp HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\n"
            "Content-Type: application/json\r\n"
            f"X-Hub-Signature-256: {signature(raw)}\r\n"
            f"Content-Length: {len(raw)}\r\n\r\n"
        )
        made.append(head.encode() + raw)
    return made


async def _answer_status(reader: asyncio.StreamReader) -> int:
    """Read one response off a keep-alive connection; its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        (
            int(line.split(":", 1)[1])
            for line in lines
            if line.lower().startswith("content-length:")
        ),
        0,
    )
    await reader.readexactly(length)
    return int(lines[0].split()[1])


async def burst(port: int, requests: list[bytes], concurrency: int) -> tuple[float, list[int]]:
    """Post every request, ``concurrency`` keep-alive connections at a time; the seconds it
    took and the statuses. A bare asyncio client: a full HTTP client in Python would take
    more of the two cores than the server it measures."""
    statuses: list[int] = []
    pending = list(reversed(requests))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while pending:
                writer.write(pending.pop())
                statuses.append(await _answer_status(reader))
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return time.perf_counter() - started, statuses


def seed_user(base_url: str) -> None:
    with httpx.Client(base_url=base_url, headers={"Origin": ORIGIN}, timeout=30.0) as client:
        registered = client.post(
            "/api/auth/register",
            json={"email": "bench@example.com", "password": "bench-password-1", "name": "Bench"},
        )
        registered.raise_for_status()
        client.put(
            "/api/profile",
            json={
                "whatsapp_api_key": "EAAG-bench-token",
                "whatsapp_phone_number_id": PHONE_NUMBER_ID,
            },
        ).raise_for_status()


def stored(database_url: str) -> tuple[int, int, int]:
    """Messages stored, distinct provider ids among them, and contacts, of the bench user,
    whose contact count (kept by triggers) must agree."""
    engine = create_engine(normalise_database_url(database_url))
    try:
        with engine.connect() as connection:
            user_id = connection.execute(select(users.c.id)).scalar_one()
            mine = conversation_messages.c.user_id == user_id
            messages = connection.execute(select(func.count()).where(mine)).scalar_one()
            distinct = connection.execute(
                select(
                    func.count(func.distinct(conversation_messages.c.provider_message_id))
                ).where(mine)
            ).scalar_one()
            people = connection.execute(
                select(func.count()).where(contacts.c.user_id == user_id)
            ).scalar_one()
            counted = connection.execute(
                select(users.c.contacts_total).where(users.c.id == user_id)
            ).scalar_one()
    finally:
        engine.dispose()
    if counted != people:
        raise AssertionError(f"{people} contacts, but the user's count says {counted}")
    return int(messages), int(distinct), int(people)


def run(args: argparse.Namespace) -> dict[str, Any]:
    local_only()
    with (
        tempfile.TemporaryDirectory(prefix="nexus-inbound-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        workdir = Path(tmp)
        database_url = stack.enter_context(fresh_database(args.database, workdir))
        port = free_port()
        env = clean_env()
        env.update(
            SECRET_KEY=secrets.token_hex(32),
            DATABASE_URL=database_url,
            NEXUS_AUTH_RATE_PER_MINUTE="0",
            NEXUS_WHATSAPP_APP_SECRET=APP_SECRET,
            CORS_ORIGINS=ORIGIN,
        )
        command = [sys.executable, "-m", "nexus_http.cli", "serve", "--workers", str(args.workers)]
        command += ["--host", "127.0.0.1", "--port", str(port)]
        stack.enter_context(
            serve(command, env, workdir, port, workdir / "server.log", START_TIMEOUT)
        )
        base_url = f"http://127.0.0.1:{port}"
        seed_user(base_url)
        requests = requests_of(port, bodies(args.calls))
        seconds, statuses = asyncio.run(burst(port, requests, args.concurrency))
        repeat_seconds, repeated = asyncio.run(burst(port, requests, args.concurrency))
        refused = [s for s in statuses + repeated if s != 200]
        if refused:
            raise AssertionError(f"{len(refused)} calls not answered 200: {sorted(set(refused))}")
        messages, distinct, people = stored(database_url)
        if (messages, distinct, people) != (args.calls, args.calls, min(SENDERS, args.calls)):
            raise AssertionError(
                f"stored {messages} messages ({distinct} distinct ids) on {people} contacts"
            )
        return {
            "rate": args.calls / seconds,
            "seconds": seconds,
            "repeat_rate": args.calls / repeat_seconds,
            "messages": messages,
            "contacts": people,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--write", metavar="FILE")
    args = parser.parse_args(argv)
    result = run(args)
    verdict = "met" if result["rate"] >= GOAL else "NOT met"
    report = (
        "| database | calls | concurrency | server processes | accepted | repeated burst "
        "| stored | goal |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n"
        f"| {args.database} | {args.calls:,} | {args.concurrency} | {args.workers} "
        f"| {result['rate']:,.0f} calls/s ({result['seconds']:.2f} s) "
        f"| {result['repeat_rate']:,.0f} calls/s "
        f"| {result['messages']:,} messages once each, {result['contacts']} contacts "
        f"| ≥ {GOAL:,.0f} calls/s: {verdict} |\n"
    )
    print(report)
    if args.write:
        write_measurement(
            Path(args.write), f"inbound-{args.database}", "bench/inbound.py", argv, report
        )
    return 0  # the verdict is in the report: an unmet goal must not stop `nox -s bench`


if __name__ == "__main__":
    sys.exit(main())
