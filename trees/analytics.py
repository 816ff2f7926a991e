"""How a tree is used: starts, completions, outcomes per exit node, and per node visits, drop-off and time."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from .limits import ABANDON_AFTER
from .models import DecisionTree, TreeNode, Walkthrough, WalkthroughStep
from .selectors import tree_nodes, tree_order

Outcome = Walkthrough.Outcome
FINISHED = (Outcome.RESOLVED, Outcome.ESCALATED, Outcome.LINKED, Outcome.NOT_COVERED)


@dataclass
class NodeStats:
    node: TreeNode | None
    key: str
    label: str
    visits: int = 0
    answered: int = 0
    abandons: int = 0
    exits: Counter = field(default_factory=Counter)
    check_states: Counter = field(default_factory=Counter)  # what a check node's runs said, by state
    median_seconds: float | None = None
    flagged: bool = False

    @property
    def exit_list(self) -> list[tuple[str, int]]:
        return sorted(self.exits.items())

    @property
    def check_state_list(self) -> list[tuple[str, int]]:
        order = {state: i for i, state in enumerate(("ok", "warning", "critical", "unknown"))}
        return sorted(self.check_states.items(), key=lambda item: order.get(item[0], 9))

    @property
    def drop_off(self) -> float:
        return round(100 * self.abandons / self.visits, 1) if self.visits else 0.0


@dataclass
class TreeAnalytics:
    starts: int
    completions: int
    outcomes: Counter
    nodes: list[NodeStats]
    exits: list[tuple[str, str, str, int]]  # (node key, label, outcome, count)
    median_total_seconds: float | None

    @property
    def completion_rate(self) -> float:
        return round(100 * self.completions / self.starts, 1) if self.starts else 0.0


def tree_analytics(tree: DecisionTree, *, now: datetime | None = None, flag_top: int = 3) -> TreeAnalytics:
    """Starts, completions, outcomes per exit node, and per node: visits, drop-off and median time spent.

    An unfinished walkthrough untouched for ABANDON_AFTER counts as abandoned at its current step.
    The nodes where most walkers give up (at least one abandon) are flagged for rework.
    """
    now = now or timezone.now()
    stale_before = now - ABANDON_AFTER
    walkthroughs = list(Walkthrough.objects.filter(tree=tree).values_list(
        "pk", "outcome", "exit_node_key", "started_at", "finished_at", "updated_at"))
    outcome_of: dict[int, str] = {}
    outcomes: Counter = Counter()
    durations: list[float] = []
    for pk, outcome, _exit, started, finished, updated in walkthroughs:
        if outcome == Outcome.IN_PROGRESS and updated < stale_before:
            outcome = Outcome.ABANDONED
        outcome_of[pk] = outcome
        outcomes[outcome] += 1
        if finished and outcome in FINISHED:
            durations.append((finished - started).total_seconds())
    nodes = tree_nodes(tree)
    stats: dict[str, NodeStats] = {key: NodeStats(node=node, key=key, label=node.label) for key, node in nodes.items()}
    times: dict[str, list[float]] = defaultdict(list)
    last_step: dict[int, tuple[int, str]] = {}
    steps = WalkthroughStep.objects.filter(walkthrough__tree=tree).values_list(
        "walkthrough_id", "order", "node_key", "node_label", "entered_at", "left_at", "check_state")
    for walkthrough_id, order, key, label, entered, left, check_state in steps.iterator(chunk_size=2000):
        item = stats.get(key)
        if item is None:
            item = stats[key] = NodeStats(node=None, key=key, label=f"{label or key} (removed)")
        item.visits += 1
        if check_state:
            item.check_states[check_state.lower()] += 1
        if left is not None:
            item.answered += 1
            times[key].append(max(0.0, (left - entered).total_seconds()))
        if walkthrough_id not in last_step or order > last_step[walkthrough_id][0]:
            last_step[walkthrough_id] = (order, key)
    exits: Counter = Counter()
    for walkthrough_id, (_order, key) in last_step.items():
        outcome = outcome_of.get(walkthrough_id)
        if outcome is None or outcome == Outcome.IN_PROGRESS:
            continue
        stats[key].exits[outcome] += 1
        exits[(key, outcome)] += 1
        if outcome == Outcome.ABANDONED:
            stats[key].abandons += 1
    for key, values in times.items():
        stats[key].median_seconds = round(statistics.median(values), 1)
    worst = sorted((s for s in stats.values() if s.abandons), key=lambda s: (-s.abandons, -s.drop_off, s.key))
    for item in worst[:flag_top]:
        item.flagged = True
    ordered_keys = [n.key for n in tree_order(tree, nodes)]
    ordered = [stats[k] for k in ordered_keys] + [s for k, s in stats.items() if k not in nodes]
    exit_rows = sorted(((key, stats[key].label, outcome, count) for (key, outcome), count in exits.items()),
                       key=lambda row: (-row[3], row[0], row[2]))
    return TreeAnalytics(
        starts=len(walkthroughs),
        completions=sum(outcomes[o] for o in FINISHED),
        outcomes=outcomes, nodes=ordered, exits=exit_rows,
        median_total_seconds=round(statistics.median(durations), 1) if durations else None,
    )
