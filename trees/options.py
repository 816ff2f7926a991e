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


def node_options(node: TreeNode) -> list[Option]:
    """The answers a walker can give at a node, in display order."""
    if node.kind == Kind.QUESTION:
        return [Option(str(i), a.get("label", ""), a.get("next", ""), short=a.get("label", ""))
                for i, a in enumerate(node.answers or [], start=1)]
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


def option_for(node: TreeNode, choice: str) -> Option:
    """The option a choice names: its id, or (for people and bots typing) its label or state name."""
    wanted = " ".join(str(choice).split()).lower()
    options = node_options(node)
    for option in options:
        if wanted in (option.choice, option.label.lower(), option.short.lower()):
            return option
    offered = ", ".join(f"{o.choice} ({o.label})" for o in options)
    raise WalkthroughError(f"“{choice}” is not an answer to this step; choose one of: {offered}.")
