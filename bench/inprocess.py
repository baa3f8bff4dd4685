#!/usr/bin/env python3
"""In-process cost of one request: the ASGI app called directly, without network or server.

usage: python bench/inprocess.py [PATH ...] [--batches 60] [--batch 200] [--profile] [--count N]
           [--contacts N]

Builds the application as ``nexus serve`` does in production (``NEXUS_ENV=production``) on a
fresh SQLite file, registers a user, and calls each PATH (default ``/api/auth/me`` and
``/health``) with that user's session cookie. Prints the best time per request over the batches:
the minimum is what the code costs when the machine leaves it alone, so it moves with code
changes, not with other load (compare two versions by running both, interleaved).

A PATH may carry a query string (``/api/contacts?per_page=50&search=garc``); ``--contacts N``
first imports N generated contacts (names, Spanish mobiles, emails, tags) for the user.

``--profile`` prints the cProfile table of 3,000 requests to the first PATH. ``--count N`` only
runs N requests to the first PATH and prints nothing: run it twice under
``valgrind --tool=callgrind`` with two values of N and divide the difference in instructions
by the difference in N for a figure that the machine's noise does not move at all.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import os
import pstats
import secrets
import sys
import tempfile
import time
from typing import Any

ORIGIN = "http://localhost:5173"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", default=["/api/auth/me", "/health"])
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--batch", type=int, default=200, help="requests per timed batch")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--count", type=int, help="only run this many requests")
    parser.add_argument("--contacts", type=int, default=0, help="contacts imported first")
    return parser.parse_args()


def configure_environment(folder: str) -> None:
    os.environ.update(
        {
            "NEXUS_ENV": "production",
            "DATABASE_URL": f"sqlite:///{folder}/bench.db",
            "SECRET_KEY": "in-process-benchmark-" + "x" * 32,
            "CORS_ORIGINS": ORIGIN,
        }
    )


def contacts_csv(count: int) -> bytes:
    """``count`` contacts as CSV: names from a few common ones, so searches find many."""
    first = ("Ana", "Luis", "María", "José", "Carmen", "Javier", "Lucía", "Pedro")
    last = ("García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez")
    tags = ("vip", "cliente", "proveedor", "newsletter")
    lines = ["name,phone,email,tags"]
    for number in range(count):
        name = f"{first[number % len(first)]} {last[number // len(first) % len(last)]}"
        email = f"contacto{number}@example.com"
        lines.append(f"{name},+3460{number:07d},{email},{tags[number % len(tags)]}")
    return ("\n".join(lines) + "\n").encode()


def scope_for(target: str, cookie: str) -> dict[str, Any]:
    path, _, query = target.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:5000"),
            (b"cookie", f"nexus_session={cookie}".encode()),
            (b"origin", ORIGIN.encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 5000),
    }


def main() -> int:
    args = parse_args()
    with contextlib.ExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        configure_environment(folder)
        # Imported here: the settings are read from the environment set above.
        from litestar.testing import TestClient

        from nexus_adapters.bootstrap import migrate
        from nexus_adapters.config import Settings
        from nexus_http.app import create_app

        settings = Settings.from_env()
        migrate(settings)
        # The log lines (one per request) go nowhere: only the figures are printed.
        nowhere = stack.enter_context(open(os.devnull, "w"))
        with contextlib.redirect_stdout(nowhere):
            app = create_app(settings)
        with TestClient(app, base_url="http://bench.local") as client:
            password = secrets.token_urlsafe(12)
            response = client.post(
                "/api/auth/register",
                json={
                    "name": "Bench",
                    "email": "bench@example.com",
                    "password": password,
                    "confirm_password": password,
                },
                headers={"Origin": ORIGIN},
            )
            if response.status_code != 201:
                print(f"registration failed: {response.status_code}", file=sys.stderr)
                return 1
            cookie = response.cookies["nexus_session"]
            if args.contacts:
                response = client.post(
                    "/api/contacts/import",
                    files={"file": ("contacts.csv", contacts_csv(args.contacts), "text/csv")},
                    headers={"Origin": ORIGIN, "Cookie": f"nexus_session={cookie}"},
                )
                if response.status_code != 201:
                    print(f"import failed: {response.status_code}", file=sys.stderr)
                    return 1
            statuses: list[int] = []

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    statuses.append(message["status"])

            async def run(path: str, times: int) -> None:
                template = scope_for(path, cookie)
                for _ in range(times):
                    await app({**template, "state": {}}, receive, send)  # type: ignore[arg-type]

            loop = asyncio.new_event_loop()
            if args.count is not None:
                loop.run_until_complete(run(args.paths[0], args.count))
                return 0
            if args.profile:
                profiler = cProfile.Profile()
                profiler.runcall(loop.run_until_complete, run(args.paths[0], 3000))
                pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(40)
                return 0
            for path in args.paths:
                loop.run_until_complete(run(path, 300))  # warm-up
                best = min(
                    _timed(loop, run(path, args.batch)) / args.batch for _ in range(args.batches)
                )
                print(f"{path}: {best * 1e6:.1f} µs per request (status {statuses[-1]})")
    return 0


def _timed(loop: asyncio.AbstractEventLoop, work: Any) -> float:
    started = time.perf_counter()
    loop.run_until_complete(work)
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
