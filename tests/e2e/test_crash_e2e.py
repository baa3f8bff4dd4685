"""A worker killed mid-campaign (``kill -9``), another started: nobody is messaged twice and
every delivery ends in a final state (API.md: "Nobody is messaged twice for one campaign,
whatever crashes or restarts happen").

2,000 recipients on PostgreSQL, seeded through ``POST /api/contacts/import``. They are the
campaigns of several users: one user's messages leave at most 600 a minute (the highest
``send_rate_per_minute``), so a single user's 2,000 would take minutes, while a worker serves
many users at once. The Cloud API double answers each message after a short delay, so the
worker always has sends in flight; the test kills it once a third of the messages have left,
starts another, and waits for every campaign to complete. The killed worker's leases are
reaped by the new one once they expire (``NEXUS_DISPATCH_LEASE_SECONDS``, short here): each of
those deliveries may have been sent, so it fails with ``unknown_outcome`` and is never resent.
"""

from __future__ import annotations

import re
import signal
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from nexus_adapters.worker import DEFAULT_BATCH
from tests.doubles.whatsapp_cloud import WhatsAppCloudDouble
from tests.e2e.support import (
    Api,
    Launch,
    Server,
    act,
    counters_add_up,
    create_campaign,
    deliveries,
    read_campaign,
    wait_for,
)

USERS = 40  # at 600 a minute each, 2,000 messages can leave in five seconds
CONTACTS_PER_USER = 50
RECIPIENTS = USERS * CONTACTS_PER_USER
LEASE_SECONDS = 3
CLOUD_DELAY_SECONDS = 0.1
KILL_AFTER = RECIPIENTS // 3


def phone(user: int, n: int) -> str:
    return f"+3467{user:02d}{n:05d}"


def contacts_csv(user: int) -> bytes:
    rows = [f"Cliente {user}-{n},{phone(user, n)}" for n in range(CONTACTS_PER_USER)]
    return ("nombre,teléfono\n" + "\n".join(rows) + "\n").encode()


def campaign_of_a_user(server: Server, user: int) -> tuple[Api, dict[str, Any]]:
    """A new user with ``CONTACTS_PER_USER`` contacts imported and a campaign to all of them,
    started."""
    api = server.user()
    files = {"file": (f"clientes-{user}.csv", contacts_csv(user), "text/csv")}
    imported = api.call("POST", "/api/contacts/import", status=201, files=files)
    assert imported["imported_count"] == CONTACTS_PER_USER, imported
    draft = create_campaign(api, name=f"Campaña {user}", audience={"all_contacts": True})
    started = act(api, draft, "send")
    assert started["total_recipients"] == CONTACTS_PER_USER
    return api, started


@pytest.fixture(scope="module")
def server(launch: Launch, postgres_url: str) -> Server:
    """``nexus serve`` on PostgreSQL, no worker yet; workers get the short lease too. Two
    server processes: registering the users (bcrypt, one hash at a time a process) takes half
    as long."""
    return launch(
        postgres_url,
        name="serve-postgresql",
        workers=2,
        NEXUS_DISPATCH_LEASE_SECONDS=str(LEASE_SECONDS),
    )


@pytest.mark.postgres
def test_a_worker_killed_mid_campaign_leaves_nobody_messaged_twice(
    server: Server, cloud: WhatsAppCloudDouble
) -> None:
    cloud.delay = CLOUD_DELAY_SECONDS
    with ThreadPoolExecutor(4) as pool:
        campaigns = list(pool.map(lambda user: campaign_of_a_user(server, user), range(USERS)))

    doomed = server.worker("worker-killed")
    wait_for(
        lambda: len(cloud.requests) >= KILL_AFTER,
        f"{KILL_AFTER} messages to leave",
        processes=[server.process, doomed],
    )
    doomed.kill()
    assert doomed.popen.returncode == -signal.SIGKILL
    left_before_the_kill = len(cloud.requests)
    assert left_before_the_kill < RECIPIENTS  # killed in the middle of the work

    successor = server.worker("worker-successor")

    def all_completed() -> list[dict[str, Any]] | None:
        found = [read_campaign(api, campaign) for api, campaign in campaigns]
        return found if all(c["status"] == "completed" for c in found) else None

    finished = wait_for(
        all_completed, "every campaign to complete", timeout=90, processes=server.processes
    )

    for campaign in finished:
        assert campaign["total_recipients"] == CONTACTS_PER_USER
        assert campaign["pending_count"] == 0
        assert counters_add_up(campaign), campaign
    # A request the kill cut short reaches the double as bytes that are not JSON: no message.
    received = Counter(
        str(request.body["to"]) for request in cloud.requests if isinstance(request.body, dict)
    )
    assert max(received.values()) == 1, received.most_common(5)  # nobody messaged twice

    outcomes: Counter[tuple[str, str | None]] = Counter()
    for api, campaign in campaigns:
        for delivery in deliveries(api, campaign):
            status, error = delivery["status"], delivery["error"]
            outcomes[status, error] += 1
            got = received[delivery["to"].removeprefix("+")]
            if status == "sent":
                assert got == 1, delivery
            else:  # sent or not when the worker died: never sent again
                assert (status, error) == ("failed", "unknown_outcome"), delivery
                assert got <= 1, delivery
    assert outcomes.total() == RECIPIENTS
    unknown = outcomes["failed", "unknown_outcome"]
    # The killed worker had sends in flight, and only those (at most a round's claims) are
    # unknown…
    assert 1 <= unknown <= DEFAULT_BATCH, outcomes
    assert outcomes["sent", None] == RECIPIENTS - unknown
    assert sum(c["sent_count"] for c in finished) == RECIPIENTS - unknown
    assert sum(c["failed_count"] for c in finished) == unknown
    # …reaped by the new worker once their leases ran out.
    assert sum(int(n) for n in re.findall(r"reaped=(\d+)", successor.output())) == unknown
    assert server.leaked_secrets() == []
