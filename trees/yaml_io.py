"""The YAML form of a tree: reading and writing it, and the canonical document a stored tree exports.

The canonical form is what ``tree_export_yaml`` writes; importing it and exporting again gives the same
text. The format itself is described in trees/validation.py and docs/trees.md.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from .exceptions import TreeInvalid
from .limits import MAX_YAML_BYTES, STATES
from .models import DecisionTree, TreeNode

Kind = TreeNode.Kind

# YAML 1.1 reads yes/no/on/off as booleans, so an answer labelled Yes would arrive as True. These
# loader and dumper use YAML 1.2's booleans (true/false only) on both sides, so labels stay text.

class _Loader(yaml.SafeLoader):
    pass


class _Dumper(yaml.SafeDumper):
    pass


def _yaml12_booleans(cls: type) -> None:
    bool_tag = "tag:yaml.org,2002:bool"
    cls.yaml_implicit_resolvers = {
        first: [pair for pair in resolvers if pair[0] != bool_tag]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    cls.add_implicit_resolver(bool_tag, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


_yaml12_booleans(_Loader)
_yaml12_booleans(_Dumper)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # Multi-line text (prompts) as literal blocks, so the file reads like the Markdown it holds.
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _represent_str)


def yaml_dump(document: dict[str, Any]) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False,
                     width=4096, indent=2)


def yaml_parse(text: str | bytes) -> Any:
    """Parse YAML text into Python values; TreeInvalid for anything that is not a readable document."""
    if isinstance(text, bytes):
        if len(text) > MAX_YAML_BYTES:
            raise TreeInvalid([f"The file is larger than {MAX_YAML_BYTES // 1024} kB."])
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise TreeInvalid(["The file is not UTF-8 text."]) from None
    if len(text.encode("utf-8", "replace")) > MAX_YAML_BYTES:
        raise TreeInvalid([f"The document is larger than {MAX_YAML_BYTES // 1024} kB."])
    try:
        return yaml.load(text.replace("\r\n", "\n"), Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "it could not be read"
        raise TreeInvalid([f"This is not valid YAML{where}: {problem}."]) from None


def _is_scalar(value: Any) -> bool:
    # Only plain values become text: str() of a nested structure built from YAML aliases can be huge.
    return isinstance(value, str | int | float | bool)


def clean_text(value: Any) -> str:
    """Text as stored: trailing spaces and blank edges trimmed; several lines end with one newline."""
    if not _is_scalar(value):
        return ""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").expandtabs(4)
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    if len(lines) > 1:
        return "\n".join(lines) + "\n"
    return lines[0].strip() if lines else ""


def one_line(value: Any) -> str:
    """A scalar as one line of text (runs of whitespace become one space); "" for anything else."""
    return " ".join(str(value).split()) if _is_scalar(value) else ""


def tree_document(tree: DecisionTree) -> dict[str, Any]:
    """The tree as a canonical document (what export writes and import reads)."""
    document: dict[str, Any] = {"slug": tree.slug, "title": tree.title, "system": tree.system.slug,
                                "status": tree.status}
    if tree.description:
        document["description"] = tree.description
    symptom_titles = sorted(set(tree.symptoms.values_list("title", flat=True)))
    if symptom_titles:
        document["symptoms"] = symptom_titles
    nodes = list(tree.nodes.select_related("check_def", "article__system", "solution", "linked_tree__system")
                 .order_by("position", "pk"))
    entry = tree.entry_node.key if tree.entry_node_id and tree.entry_node else (nodes[0].key if nodes else "")
    document["entry"] = entry
    document["nodes"] = [_node_document(node, tree) for node in nodes]
    return document


def _node_document(node: TreeNode, tree: DecisionTree) -> dict[str, Any]:
    item: dict[str, Any] = {"key": node.key, "kind": node.kind}
    if node.title:
        item["title"] = node.title
    if node.prompt:
        item["prompt"] = node.prompt
    if node.kind == Kind.QUESTION:
        item["answers"] = [{"label": a.get("label", ""), "next": a.get("next", "")} for a in node.answers or []]
    elif node.kind == Kind.CHECK:
        if node.check_def_id:
            item["check"] = node.check_def.slug
        if node.check_target:
            item["target"] = node.check_target
        item["branches"] = {s: node.branches[s] for s in STATES if s in (node.branches or {})}
    elif node.kind == Kind.INSTRUCTION:
        item["next"] = node.next_key
    elif node.kind == Kind.SOLUTION:
        if node.article_id:
            same = node.article.system_id == tree.system_id
            item["article"] = node.article.slug if same else f"{node.article.system.slug}/{node.article.slug}"
        if node.solution_id:
            item["solution"] = node.solution.title
        item["next"] = node.next_key
    elif node.kind == Kind.LINK:
        if node.linked_tree_id:
            other = node.linked_tree
            item["tree"] = other.slug if other.system_id == tree.system_id else f"{other.system.slug}/{other.slug}"
    elif node.kind == Kind.ESCALATE and node.severity:
        item["severity"] = node.severity
    return item


def tree_export_yaml(tree: DecisionTree) -> str:
    return yaml_dump(tree_document(tree))
