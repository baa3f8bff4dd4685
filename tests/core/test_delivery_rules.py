"""Deliveries: receipts only move forward, and the counters always add up."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_core.domain.deliveries import (
    COUNTERS,
    DELIVERY_STATUSES,
    FINAL_STATUSES,
    RECEIPT_STATUSES,
    DeliveryCounts,
    DeliveryStatus,
    ReceiptStatus,
    after_receipt,
    count_deliveries,
    counter_changes,
    counts_from_tally,
)

# Every status against every receipt: the new status, or None when the receipt is ignored.
_TABLE: dict[DeliveryStatus, dict[ReceiptStatus, DeliveryStatus | None]] = {
    "pending": {"sent": "sent", "delivered": "delivered", "read": "read", "failed": "failed"},
    "sent": {"sent": None, "delivered": "delivered", "read": "read", "failed": "failed"},
    "delivered": {"sent": None, "delivered": None, "read": "read", "failed": None},
    "read": {"sent": None, "delivered": None, "read": None, "failed": None},
    "failed": {"sent": None, "delivered": None, "read": None, "failed": None},
    "skipped": {"sent": None, "delivered": None, "read": None, "failed": None},
}
_ALONG = {"pending": 0, "sent": 1, "delivered": 2, "read": 3}

_STATUSES = st.sampled_from(DELIVERY_STATUSES)
_RECEIPTS = st.lists(st.sampled_from(RECEIPT_STATUSES), max_size=12)


@pytest.mark.parametrize(
    ("current", "receipt"),
    [(current, receipt) for current in DELIVERY_STATUSES for receipt in RECEIPT_STATUSES],
)
def test_every_receipt_on_every_status(current: DeliveryStatus, receipt: ReceiptStatus) -> None:
    assert after_receipt(current, receipt) == _TABLE[current][receipt]


def test_a_late_delivered_after_read_is_ignored() -> None:
    assert after_receipt("read", "delivered") is None


def test_a_failed_receipt_after_sent_fails_the_delivery() -> None:
    assert after_receipt("sent", "failed") == "failed"


def test_receipts_in_any_order_end_at_the_furthest() -> None:
    status: DeliveryStatus = "sent"
    for receipt in ("read", "sent", "delivered"):
        status = after_receipt(status, receipt) or status
    assert status == "read"


def _apply(status: DeliveryStatus, receipts: list[ReceiptStatus]) -> list[DeliveryStatus]:
    """The statuses a delivery goes through under ``receipts``, ignored ones included."""
    seen = [status]
    for receipt in receipts:
        seen.append(after_receipt(seen[-1], receipt) or seen[-1])
    return seen


@given(_STATUSES, _RECEIPTS)
def test_a_status_never_moves_backwards(
    start: DeliveryStatus, receipts: list[ReceiptStatus]
) -> None:
    seen = _apply(start, receipts)
    for before, after in pairwise(seen):
        if before in FINAL_STATUSES:
            assert after == before
        elif after == "failed":
            assert before in ("pending", "sent", "failed")
        else:
            assert _ALONG[after] >= _ALONG[before]


@given(_STATUSES, st.sampled_from(RECEIPT_STATUSES))
def test_a_repeated_receipt_changes_nothing(start: DeliveryStatus, receipt: ReceiptStatus) -> None:
    once = after_receipt(start, receipt) or start
    assert after_receipt(once, receipt) is None


@given(_STATUSES, st.sampled_from(RECEIPT_STATUSES))
def test_an_applied_receipt_always_changes_the_status(
    start: DeliveryStatus, receipt: ReceiptStatus
) -> None:
    assert after_receipt(start, receipt) != start


@given(st.permutations(["sent", "delivered", "read"]))
def test_progress_receipts_commute(receipts: list[ReceiptStatus]) -> None:
    assert _apply("sent", receipts)[-1] == "read"


# --- counters -----------------------------------------------------------------------------


def test_counters_of_a_mixed_campaign() -> None:
    statuses: list[DeliveryStatus] = [
        "pending",
        "sent",
        "sent",
        "delivered",
        "read",
        "read",
        "failed",
        "skipped",
        "skipped",
    ]
    counts = count_deliveries(statuses)
    assert counts == DeliveryCounts(
        pending_count=1,
        sent_count=5,
        delivered_count=3,
        opened_count=2,
        failed_count=1,
        skipped_count=2,
    )
    assert counts.total_recipients == 9
    assert not counts.nothing_pending


def test_no_deliveries_count_nothing() -> None:
    counts = count_deliveries([])
    assert counts == DeliveryCounts()
    assert counts.total_recipients == 0
    assert counts.nothing_pending


def test_counters_from_a_tally() -> None:
    tally: dict[DeliveryStatus, int] = {"read": 4, "delivered": 1, "failed": 2}
    assert counts_from_tally(tally) == DeliveryCounts(
        sent_count=5, delivered_count=5, opened_count=4, failed_count=2
    )


def test_counter_changes_of_one_delivery() -> None:
    assert counter_changes(None, "pending") == {"pending_count": 1}
    assert counter_changes("pending", "sent") == {"pending_count": -1, "sent_count": 1}
    assert counter_changes("sent", "read") == {"delivered_count": 1, "opened_count": 1}
    assert counter_changes("read", "read") == {}
    assert counter_changes("delivered", "failed") == {
        "sent_count": -1,
        "delivered_count": -1,
        "failed_count": 1,
    }
    assert counter_changes("failed", "pending") == {"failed_count": -1, "pending_count": 1}


@given(st.lists(_STATUSES, max_size=60))
def test_counters_are_never_negative_and_add_up(statuses: list[DeliveryStatus]) -> None:
    counts = count_deliveries(statuses)
    assert all(getattr(counts, name) >= 0 for name in COUNTERS)
    assert counts.total_recipients == len(statuses)
    assert (
        counts.pending_count + counts.sent_count + counts.failed_count + counts.skipped_count
        == len(statuses)
    )
    assert counts.opened_count <= counts.delivered_count <= counts.sent_count
    assert counts.nothing_pending == ("pending" not in statuses)


@given(
    st.lists(_STATUSES, min_size=1, max_size=20),
    st.lists(st.tuples(st.integers(0, 19), _STATUSES), max_size=40),
)
def test_counter_changes_keep_the_counters_equal_to_a_recount(
    created: list[DeliveryStatus], moves: list[tuple[int, DeliveryStatus]]
) -> None:
    statuses = list(created)
    counts = DeliveryCounts()
    for status in statuses:
        counts = counts.shifted(counter_changes(None, status))
    assert counts == count_deliveries(statuses)
    for index, new in moves:
        index %= len(statuses)
        counts = counts.shifted(counter_changes(statuses[index], new))
        statuses[index] = new
        assert counts == count_deliveries(statuses)


@given(st.lists(st.tuples(_STATUSES, _RECEIPTS), max_size=15))
def test_receipts_keep_the_counters_consistent(
    deliveries: list[tuple[DeliveryStatus, list[ReceiptStatus]]],
) -> None:
    before = count_deliveries(start for start, _ in deliveries)
    after = count_deliveries(_apply(start, receipts)[-1] for start, receipts in deliveries)
    assert after.total_recipients == before.total_recipients
    assert after.skipped_count == before.skipped_count
    assert after.pending_count <= before.pending_count
    assert after.failed_count >= before.failed_count
