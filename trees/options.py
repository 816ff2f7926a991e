"""The answers a walker can give at each kind of node: for forms, the API, the diagram and walking order."""

from __future__ import annotations

from dataclasses import dataclass

from .exceptions import WalkthroughError
from .limits import STATES
from .models import TreeNode, Walkthrough

Kind = TreeNode.Kind
Outcome = Walkthrough.Outcome

CHECK_LABELS = {
    "OK": "It works (OK)",
    "WARNING": "It works, but not well (WARNING)",
    "CRITICAL": "It fails (CRITICAL)",
    "UNKNOWN": "I can't tell",
}


@dataclass(frozen=True)
class Option:
    choice: str  # what forms and the API send: "1", "ok", "done", "fixed", ...
    label: str
    next_key: str = ""
    outcome: str = ""  # set when choosing it ends the walkthrough
    short: str = ""  # for diagram edges
    implicit: bool = False  # offered on every question by Triage, not written in the tree (left out of diagrams)


NONE_OF_THESE = "none"
NONE_LABEL = "None of these"


def escalate_key(node: TreeNode, nodes: dict[str, TreeNode] | None = None) -> str:
    """The tree's first escalate node (in YAML order), or "" when it has none."""
    if nodes is not None:
        found = sorted((n for n in nodes.values() if n.kind == Kind.ESCALATE), key=lambda n: (n.position, n.pk or 0))
        return found[0].key if found else ""
    return (TreeNode.objects.filter(tree_id=node.tree_id, kind=Kind.ESCALATE).order_by("position", "id")
            .values_list("key", flat=True).first() or "")


def _none_of_these(node: TreeNode, nodes: dict[str, TreeNode] | None) -> Option:
    """The answer when no listed answer fits: the escalate node, else a "not covered by this tree" finish."""
    target = escalate_key(node, nodes)
    if target:
        return Option(NONE_OF_THESE, NONE_LABEL, target, short="none", implicit=True)
    return Option(NONE_OF_THESE, NONE_LABEL, outcome=Outcome.NOT_COVERED, short="none", implicit=True)


def node_options(node: TreeNode, *, nodes: dict[str, TreeNode] | None = None,
                 implicit: bool = True) -> list[Option]:
    """The answers a walker can give at a node, in display order.

    Every question ends with "None of these" unless ``implicit`` is False (diagrams, walking order) or
    the tree already offers an answer with that label. ``nodes`` (the tree's nodes) saves a query.
    """
    if node.kind == Kind.QUESTION:
        options = [Option(str(i), a.get("label", ""), a.get("next", ""), short=a.get("label", ""))
                   for i, a in enumerate(node.answers or [], start=1)]
        if implicit and all(o.label.strip().lower() != NONE_LABEL.lower() for o in options):
            options.append(_none_of_these(node, nodes))
        return options
    if node.kind == Kind.CHECK:
        return [Option(state.lower(), CHECK_LABELS[state], node.branches[state], short=state)
                for state in STATES if state in (node.branches or {})]
    if node.kind == Kind.INSTRUCTION:
        return [Option("done", "Done, continue", node.next_key, short="done")]
    if node.kind == Kind.SOLUTION:
        return [Option("fixed", "Yes, this fixed it", outcome=Outcome.RESOLVED, short="fixed"),
                Option("not_fixed", "No, it is still broken", node.next_key, short="not fixed")]
    if node.kind == Kind.LINK:
        title = node.linked_tree.title if node.linked_tree_id else "the linked tree"
        return [Option("continue", f"Continue with “{title}”", outcome=Outcome.LINKED, short="continue")]
    return [Option("escalate", "File an incident", outcome=Outcome.ESCALATED, short="escalate")]


def option_for(node: TreeNode, choice: str, *, nodes: dict[str, TreeNode] | None = None) -> Option:
    """The option a choice names: its id, or (for people and bots typing) its label or state name."""
    wanted = " ".join(str(choice).split()).lower()
    options = node_options(node, nodes=nodes)
    for option in options:
        if wanted in (option.choice, option.label.lower(), option.short.lower()):
            return option
    offered = ", ".join(f"{o.choice} ({o.label})" for o in options)
    raise WalkthroughError(f"“{choice}” is not an answer to this step; choose one of: {offered}.")
