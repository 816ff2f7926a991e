"""The tree as a Mermaid flowchart (drawn in the browser when the library is installed; the page works without)."""

from __future__ import annotations

import re

from .models import DecisionTree, TreeNode
from .options import node_options
from .selectors import tree_nodes

Kind = TreeNode.Kind


def _mermaid_label(text: str) -> str:
    # Mermaid's own syntax characters and markup are dropped; the template escapes the rest for HTML.
    cleaned = re.sub(r'["<>\[\]{}()|`#;]', " ", text)
    return " ".join(cleaned.split())[:80] or "…"


def tree_mermaid(tree: DecisionTree, nodes: dict[str, TreeNode] | None = None) -> str:
    """Mermaid flowchart source for the tree (rendered in the browser when the library is installed)."""
    nodes = nodes if nodes is not None else tree_nodes(tree)
    ids = {key: f"n{index}" for index, key in enumerate(nodes)}
    shapes = {Kind.QUESTION: ('{"', '"}'), Kind.CHECK: ('{{"', '"}}'), Kind.INSTRUCTION: ('["', '"]'),
              Kind.SOLUTION: ('(["', '"])'), Kind.LINK: ('[["', '"]]'), Kind.ESCALATE: ('>"', '"]')}
    lines = ["flowchart TD"]
    for key, node in nodes.items():
        opening, closing = shapes[node.kind]
        prefix = {Kind.CHECK: "Check: ", Kind.SOLUTION: "Fix: ", Kind.ESCALATE: "Escalate: ",
                  Kind.LINK: "Go to: "}.get(node.kind, "")
        label = node.label if node.kind != Kind.LINK or not node.linked_tree_id else node.linked_tree.title
        lines.append(f"  {ids[key]}{opening}{_mermaid_label(prefix + label)}{closing}")
    for key, node in nodes.items():
        for option in node_options(node, implicit=False):
            if option.next_key in ids:
                lines.append(f'  {ids[key]} -->|"{_mermaid_label(option.short)}"| {ids[option.next_key]}')
    entry = tree.entry_node.key if tree.entry_node_id and tree.entry_node else None
    if entry in ids:
        lines.append(f"  style {ids[entry]} stroke-width:3px")
    return "\n".join(lines)
