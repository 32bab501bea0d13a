"""The server side's SecAgg+ parameters: what FlowerSecureSum really sends to the sites.

A recording grid stands in for the SuperLink and never answers, so each round stops after the
setup stage; the setup messages Flower's workflow pushed are what the sites would receive.
Before the fix the threshold was n − max(t, 1) over the sites *still asked*: 2 of 3 with
t = 0, and 2 of 3 after one of 4 sites had dropped with t = 1 (the plan assumes 3 shares).
"""

from __future__ import annotations

import pytest
from flwr.app import Context, RecordDict
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS, Key, Stage
from flwr.supercore.task_identity import TaskIdentity

from synthema.errors import FederationError, ParameterError
from synthema.federation.flower import FlowerSecureSum, secagg_workflow
from synthema.federation.protocol import Query, check_sites


class SilentGrid:
    """A grid that keeps every pushed message and never gets a reply."""

    def __init__(self) -> None:
        self.pushed: list = []

    def push_messages(self, messages):
        self.pushed.extend(messages)
        return [f"m{i}" for i in range(len(self.pushed) - len(messages), len(self.pushed))]

    def pull_messages(self, ids):
        return []


@pytest.fixture(autouse=True)
def task_identity(monkeypatch):
    for name, value in (("_task_id", 1), ("_run_id", 7), ("_node_id", 0)):
        monkeypatch.setattr(TaskIdentity, name, value)


def _sent_thresholds(n_sites: int, dropouts: int, dropped_before: int) -> list[int]:
    grid = SilentGrid()
    context = Context(run_id=7, node_id=0, node_config={}, state=RecordDict(), run_config={})
    transport = FlowerSecureSum(grid, context, n_sites=n_sites, dropouts=dropouts, timeout=0.01)
    names = {node: f"site_{node}" for node in range(1, n_sites + 1)}
    transport.sites = {n: s for n, s in names.items() if n > dropped_before}
    transport.dropped = {n: s for n, s in names.items() if n <= dropped_before}
    query = Query("q", (("sex",),), share_sigma=2.0, n_sites=n_sites,
                  min_contributors=n_sites - dropouts, fingerprint="f")  # fmt: skip
    result = transport.secure_sum(query, 3)
    assert result.vector is None  # nobody answered
    setups = [m.content.config_records[RECORD_KEY_CONFIGS] for m in grid.pushed]
    assert all(c[Key.STAGE] == Stage.SETUP for c in setups)
    assert all(c[Key.SHARE_NUMBER] == c[Key.SAMPLE_NUMBER] == len(setups) for c in setups)
    return [int(c[Key.THRESHOLD]) for c in setups]


@pytest.mark.parametrize(
    ("n_sites", "dropouts", "dropped_before", "asked", "threshold"),
    [
        (3, 1, 0, 3, 2),  # 2 of 3
        (3, 0, 0, 3, 3),  # t = 0: every share (was 2)
        (5, 0, 0, 5, 5),  # (was 4)
        (5, 1, 0, 5, 4),
        (4, 1, 1, 3, 3),  # one site dropped in an earlier round: still 3 (was 2)
        (5, 2, 1, 4, 3),  # (was 2)
    ],
)
def test_the_threshold_sent_is_the_planned_n_minus_t(
    n_sites, dropouts, dropped_before, asked, threshold
):
    # Run
    sent = _sent_thresholds(n_sites, dropouts, dropped_before)

    # Assert: every site asked gets the planned n - t, never less
    assert sent == [threshold] * asked
    assert threshold == n_sites - dropouts


def test_a_round_with_fewer_sites_than_the_plan_is_not_started():
    # Run: 4 sites, t = 1, but two dropped earlier: only 2 of the planned 3 shares exist
    sent = _sent_thresholds(4, 1, 2)

    # Assert: nothing was sent at all
    assert sent == []


def test_workflow_and_plan_limits():
    assert secagg_workflow(4, 3, timeout=1).reconstruction_threshold == 3
    assert secagg_workflow(3, 3, timeout=1).reconstruction_threshold == 1.0  # Flower: "all"
    with pytest.raises(FederationError, match="3 of 2"):
        secagg_workflow(2, 3, timeout=1)
    assert check_sites(5, 2) == (5, 2)
    with pytest.raises(ParameterError, match="between 0 and 1"):
        check_sites(4, 2)  # 2 of 4 shares: not a majority
