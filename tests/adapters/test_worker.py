"""The dispatch loop (``Dispatcher``) in a thread on a SQLite database, stopped gracefully,
and the lock that lets exactly one ``nexus serve`` process dispatch on SQLite."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from nexus_adapters.bootstrap import utc_now
from nexus_adapters.channels.whatsapp import WhatsAppCloudChannel
from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_adapters.worker import (
    Dispatcher,
    SingleDispatcherLock,
    dispatcher_lock_path,
    new_worker_id,
    run_single_dispatcher,
)
from nexus_core.testing.fakes import FakeContactFileReader, FakeHasher, FakeTokens
from nexus_core.use_cases.context import Ports
from tests.adapters.databases import only_sqlite
from tests.adapters.test_dispatch_whatsapp import (
    NAMES,
    owner_with_contacts,
    phone,
    start_campaign,
    stored,
)
from tests.doubles.whatsapp_cloud import WhatsAppCloudDouble


def test_only_one_holder_of_the_dispatcher_lock(tmp_path: Path) -> None:
    path = dispatcher_lock_path(str(tmp_path / "nexus.db"))
    assert path.endswith("nexus.db-dispatcher.lock")
    first, second = SingleDispatcherLock(path), SingleDispatcherLock(path)
    assert first.try_acquire()
    assert first.try_acquire()  # already held
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()


def test_worker_ids_are_unique() -> None:
    assert len({new_worker_id() for _ in range(100)}) == 100


@only_sqlite
def test_the_dispatcher_thread_sends_a_campaign_and_stops(
    uow_factory: SqlUnitOfWorkFactory, tmp_path: Path
) -> None:
    ports = Ports(uow_factory, FakeHasher(), FakeTokens(), utc_now, FakeContactFileReader())
    ana = owner_with_contacts(ports)
    campaign = start_campaign(ports, ana)
    with WhatsAppCloudDouble() as cloud, WhatsAppCloudChannel(cloud.base_url) as channel:
        dispatcher = Dispatcher(ports, {"whatsapp": channel}, poll_seconds=0.05, threads=4)
        lock = SingleDispatcherLock(str(tmp_path / "lock"))
        rival = SingleDispatcherLock(str(tmp_path / "lock"))
        thread = threading.Thread(target=run_single_dispatcher, args=(dispatcher, lock))
        thread.start()
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and stored(ports, campaign).status != "completed":
                time.sleep(0.05)
            assert not rival.try_acquire()  # the running dispatcher holds it
        finally:
            dispatcher.stop()
            thread.join(10)
        assert not thread.is_alive()
        assert rival.try_acquire()  # released when the dispatcher stopped
        rival.release()
        final = stored(ports, campaign)
        assert (final.status, final.sent_count) == ("completed", len(NAMES))
        assert sorted(r.body["to"] for r in cloud.requests) == sorted(
            phone(n).removeprefix("+") for n in range(len(NAMES))
        )
