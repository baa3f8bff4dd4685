"""The campaign status machine against the contract, move by move and along random paths."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from nexus_core.domain.campaign_status import (
    CAMPAIGN_ACTIONS,
    CAMPAIGN_STATUSES,
    CampaignAction,
    CampaignStatus,
    allowed_actions,
    ensure_deletable,
    ensure_editable,
    is_deletable,
    is_editable,
    next_status,
)
from nexus_core.errors import Conflict

# Written from API.md ("Campaigns"), not from the implementation:
#   "draft → scheduled → active → completed; draft → active; active ⇄ paused;
#    draft|scheduled|active|paused → cancelled; active → failed (the channel refused the
#    credentials); completed → active only through /retry-failed when failed deliveries exist.
#    /send acts on draft or scheduled, /resume only on paused. Any other change, repeating the
#    current state included, answers 409."
CONTRACT: dict[tuple[str, str], str] = {
    ("draft", "schedule"): "scheduled",
    ("scheduled", "send"): "active",
    ("draft", "send"): "active",
    ("active", "complete"): "completed",
    ("active", "pause"): "paused",
    ("paused", "resume"): "active",
    ("draft", "cancel"): "cancelled",
    ("scheduled", "cancel"): "cancelled",
    ("active", "cancel"): "cancelled",
    ("paused", "cancel"): "cancelled",
    ("active", "fail"): "failed",
    ("completed", "retry_failed"): "active",
}
NEEDS_FAILED_DELIVERIES = {("completed", "retry_failed")}
STATUSES = ("draft", "scheduled", "active", "paused", "completed", "cancelled", "failed")
ACTIONS = ("send", "schedule", "pause", "resume", "cancel", "fail", "complete", "retry_failed")
EDITABLE = {"draft", "scheduled"}  # "name, content, audience and schedule change only in …"
UNDELETABLE = {"active"}  # "Deletion is refused while active."


def legal(status: str, action: str, has_failed_deliveries: bool) -> str | None:
    """The contract's target for this move, or None when it must answer 409."""
    if (status, action) in NEEDS_FAILED_DELIVERIES and not has_failed_deliveries:
        return None
    return CONTRACT.get((status, action))


def refusal_code(status: str, action: str) -> str:
    if (status, action) in NEEDS_FAILED_DELIVERIES:
        return "campaign.no_failed_deliveries"
    return "campaign.invalid_transition"


def test_the_vocabulary_is_the_contracts() -> None:
    assert CAMPAIGN_STATUSES == STATUSES
    assert set(CAMPAIGN_ACTIONS) == set(ACTIONS)


@pytest.mark.parametrize("has_failed", [False, True])
@pytest.mark.parametrize("action", CAMPAIGN_ACTIONS)
@pytest.mark.parametrize("status", CAMPAIGN_STATUSES)
def test_every_move_of_the_table(
    status: CampaignStatus, action: CampaignAction, has_failed: bool
) -> None:
    target = legal(status, action, has_failed)
    if target is not None:
        assert next_status(status, action, has_failed_deliveries=has_failed) == target
        assert target != status  # the contract has no move that stays put
        return
    with pytest.raises(Conflict) as caught:
        next_status(status, action, has_failed_deliveries=has_failed)
    assert caught.value.code == refusal_code(status, action)
    assert dict(caught.value.params) == {"status": status, "action": action}


def test_a_campaign_lives_its_whole_life() -> None:
    life: list[tuple[CampaignAction, CampaignStatus]] = [
        ("schedule", "scheduled"),
        ("send", "active"),
        ("pause", "paused"),
        ("resume", "active"),
        ("complete", "completed"),
    ]
    status: CampaignStatus = "draft"
    for action, expected in life:
        status = next_status(status, action)
        assert status == expected
    assert next_status(status, "retry_failed", has_failed_deliveries=True) == "active"


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("scheduled", "schedule"),  # re-scheduling goes through PUT scheduled_at instead
        ("active", "send"),
        ("paused", "pause"),
        ("active", "resume"),
        ("cancelled", "cancel"),
        ("failed", "fail"),
        ("completed", "complete"),
    ],
)
def test_repeating_the_current_state_is_a_conflict(
    status: CampaignStatus, action: CampaignAction
) -> None:
    with pytest.raises(Conflict) as caught:
        next_status(status, action, has_failed_deliveries=True)
    assert caught.value.code == "campaign.invalid_transition"


def test_retry_needs_failed_deliveries_and_a_completed_campaign() -> None:
    with pytest.raises(Conflict) as caught:
        next_status("completed", "retry_failed")
    assert caught.value.code == "campaign.no_failed_deliveries"
    for status in ("active", "paused", "failed", "cancelled"):
        with pytest.raises(Conflict) as caught:
            next_status(status, "retry_failed", has_failed_deliveries=True)
        assert caught.value.code == "campaign.invalid_transition"


def test_cancelled_and_failed_are_the_end() -> None:
    for status in ("cancelled", "failed"):
        for has_failed in (False, True):
            assert allowed_actions(status, has_failed_deliveries=has_failed) == ()


def test_allowed_actions() -> None:
    assert allowed_actions("draft") == ("send", "schedule", "cancel")
    assert allowed_actions("scheduled") == ("send", "cancel")
    assert allowed_actions("active") == ("pause", "cancel", "fail", "complete")
    assert allowed_actions("paused") == ("resume", "cancel")
    assert allowed_actions("completed") == ()
    assert allowed_actions("completed", has_failed_deliveries=True) == ("retry_failed",)


def test_edit_and_delete_rules() -> None:
    for status in CAMPAIGN_STATUSES:
        assert is_editable(status) == (status in EDITABLE)
        assert is_deletable(status) == (status not in UNDELETABLE)
    ensure_editable("draft")
    ensure_editable("scheduled")
    ensure_deletable("paused")
    with pytest.raises(Conflict) as caught:
        ensure_editable("paused")
    assert (caught.value.code, dict(caught.value.params)) == (
        "campaign.not_editable",
        {"status": "paused"},
    )
    with pytest.raises(Conflict) as caught:
        ensure_deletable("active")
    assert (caught.value.code, dict(caught.value.params)) == (
        "campaign.not_deletable",
        {"status": "active"},
    )


class CampaignLifecycle(RuleBasedStateMachine):
    """One campaign driven by random actions: a legal move lands where the contract says,
    any other is a Conflict that changes nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.status: CampaignStatus = "draft"

    @initialize(start=st.sampled_from(CAMPAIGN_STATUSES))
    def start(self, start: CampaignStatus) -> None:
        self.status = start

    def _expect(self, action: CampaignAction, has_failed: bool) -> None:
        target = legal(self.status, action, has_failed)
        if target is None:
            with pytest.raises(Conflict) as caught:
                next_status(self.status, action, has_failed_deliveries=has_failed)
            assert caught.value.code == refusal_code(self.status, action)
            assert dict(caught.value.params) == {"status": self.status, "action": action}
            return
        moved = next_status(self.status, action, has_failed_deliveries=has_failed)
        assert moved == target
        self.status = moved

    @rule(action=st.sampled_from(CAMPAIGN_ACTIONS), has_failed=st.booleans())
    def any_action(self, action: CampaignAction, has_failed: bool) -> None:
        self._expect(action, has_failed)

    @precondition(lambda self: any((self.status, a) in CONTRACT for a in ACTIONS))
    @rule(data=st.data())
    def a_legal_action(self, data: st.DataObject) -> None:
        """Biases the walk towards long lives rather than refusals."""
        actions = [a for a in CAMPAIGN_ACTIONS if (self.status, a) in CONTRACT]
        self._expect(data.draw(st.sampled_from(actions)), has_failed=True)

    @invariant()
    def the_status_is_one_of_the_contracts(self) -> None:
        assert self.status in STATUSES

    @invariant()
    def edits_and_deletion_follow_the_status(self) -> None:
        assert is_editable(self.status) == (self.status in EDITABLE)
        assert is_deletable(self.status) == (self.status not in UNDELETABLE)

    @invariant()
    def allowed_actions_are_the_legal_ones(self) -> None:
        for has_failed in (False, True):
            expected = {a for a in ACTIONS if legal(self.status, a, has_failed) is not None}
            assert set(allowed_actions(self.status, has_failed_deliveries=has_failed)) == expected


def test_random_lives_follow_the_contract() -> None:
    run_state_machine_as_test(
        CampaignLifecycle,
        settings=settings(max_examples=100, stateful_step_count=25),
    )
