"""Writes to decision trees: create or replace a tree from a validated document, edit a node, delete.

Every stored change snapshots the whole tree as YAML in a ``TreeRevision`` and bumps ``tree.revision``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from kb.markdown import render_markdown
from kb.models import System

from .exceptions import TreeInvalid
from .models import DecisionTree, TreeNode, TreeRevision
from .validation import ValidNode, ValidTree, tree_validate
from .yaml_io import one_line, tree_document, tree_export_yaml, yaml_parse


@dataclass
class TreeImportResult:
    tree: DecisionTree
    created: bool
    changed: bool
    revision: TreeRevision | None = None


def tree_revision_add(*, tree: DecisionTree, author: Any = None, note: str = "") -> TreeRevision:
    """Snapshot the tree's YAML as its next revision (and bump the tree's counter)."""
    with transaction.atomic():
        locked = DecisionTree.objects.select_for_update().get(pk=tree.pk)
        number = locked.revision + 1
        DecisionTree.objects.filter(pk=tree.pk).update(revision=number)
        tree.revision = number
        return TreeRevision.objects.create(
            tree=tree, number=number, yaml=tree_export_yaml(tree), note=note[:255],
            author=author if getattr(author, "is_authenticated", False) else None,
        )


def _node_fields(node: ValidNode, position: int, linked: DecisionTree | None) -> dict[str, Any]:
    return {
        "kind": node.kind, "title": node.title, "prompt": node.prompt, "answers": node.answers,
        "check_def": node.check, "check_target": node.target, "branches": node.branches,
        "article": node.article, "solution": node.solution, "next_key": node.next,
        "linked_tree": linked, "severity": node.severity, "position": position,
    }


def tree_apply(*, valid: ValidTree, author: Any = None, note: str = "", source_file: str | None = None,
               source_hash: str | None = None) -> TreeImportResult:
    """Create or update the tree (by system and slug) from a validated document; a revision if it changed."""
    with transaction.atomic():
        tree = (DecisionTree.objects.select_for_update().select_related("system")
                .filter(system=valid.system, slug=valid.slug).first())
        created = tree is None
        if tree is not None and tree_export_yaml(tree) == valid.yaml:
            if source_hash is not None and tree.source_hash != source_hash:
                DecisionTree.objects.filter(pk=tree.pk).update(source_hash=source_hash)
            return TreeImportResult(tree=tree, created=False, changed=False)
        if tree is None:
            tree = DecisionTree(system=valid.system, slug=valid.slug)
        tree.title, tree.status = valid.title, valid.status
        if tree.description != valid.description or not tree.pk:
            tree.description = valid.description
            tree.description_html = render_markdown(valid.description).html if valid.description else ""
        if source_file is not None:
            tree.source_file = source_file
        if source_hash is not None:
            tree.source_hash = source_hash
        tree.full_clean(exclude=["entry_node"])
        tree.save()
        existing = {node.key: node for node in tree.nodes.all()}
        wanted = {node.key for node in valid.nodes}
        TreeNode.objects.filter(tree=tree).exclude(key__in=wanted).delete()
        by_key: dict[str, TreeNode] = {}
        for position, node in enumerate(valid.nodes):
            fields = _node_fields(node, position, valid.linked.get(node.key))
            row = existing.get(node.key) or TreeNode(tree=tree, key=node.key)
            if row.pk is None or row.prompt != node.prompt:
                row.prompt_html = render_markdown(node.prompt).html if node.prompt else ""
            for name, value in fields.items():
                setattr(row, name, value)
            row.save()
            by_key[node.key] = row
        tree.entry_node = by_key[valid.entry]
        tree.save(update_fields=["entry_node", "updated_at"])
        tree.symptoms.set(valid.symptoms)
        revision = tree_revision_add(tree=tree, author=author, note=note or ("Created" if created else "Updated"))
    return TreeImportResult(tree=tree, created=created, changed=True, revision=revision)


def tree_import_yaml(*, text: str | bytes, author: Any = None, system: System | None = None, note: str = "",
                     slug: str | None = None, source_file: str | None = None) -> TreeImportResult:
    """Validate a YAML document and create or update its tree; TreeInvalid (nothing saved) on problems.

    ``slug`` pins the tree being replaced (uploading over an existing tree must not quietly make another).
    """
    document = yaml_parse(text)
    if slug is not None and isinstance(document, dict):
        given = one_line(document.get("slug"))
        if given and given != slug:
            raise TreeInvalid([f"This YAML is for the tree {given!r}, not {slug!r}."])
        document.setdefault("slug", slug)
    valid = tree_validate(document, system=system)
    digest = hashlib.sha256(text if isinstance(text, bytes) else text.encode()).hexdigest() if source_file else None
    return tree_apply(valid=valid, author=author, note=note, source_file=source_file, source_hash=digest)


def tree_node_update(*, tree: DecisionTree, key: str, node: dict[str, Any], author: Any = None) -> TreeImportResult:
    """Replace one node (as a document mapping) and store the whole tree again, validated like an import."""
    document = tree_document(tree)
    replaced = False
    for index, item in enumerate(document["nodes"]):
        if item["key"] == key:
            document["nodes"][index] = node
            replaced = True
    if not replaced:
        raise TreeInvalid([f"The tree has no node {key!r}."])
    if node.get("key") != key and document.get("entry") == key:
        document["entry"] = node.get("key")
    valid = tree_validate(document, system=tree.system)
    return tree_apply(valid=valid, author=author, note=f"Edited node {key}")


def tree_delete(*, tree: DecisionTree) -> None:
    with transaction.atomic():
        TreeNode.objects.filter(linked_tree=tree).update(linked_tree=None)
        tree.delete()
