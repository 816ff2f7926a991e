"""Starter decision trees: kb/content/<system>/_trees/*.yml, loaded by ``manage.py load_starter_content``.

kb's loader runs the steps other apps register (kb.hooks); trees registers ``starter_step`` in its
AppConfig.ready(), so the trees load after the articles and checks they refer to.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from kb.hooks import StarterStepRefused

from .exceptions import TreeInvalid
from .models import DecisionTree
from .services import tree_apply
from .validation import ValidTree, tree_validate
from .yaml_io import one_line, yaml_parse


@dataclass
class StarterTreesReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def summary_line(self) -> str:
        return (f"Decision trees: {len(self.created)} created, {len(self.updated)} updated, "
                f"{len(self.unchanged)} unchanged.")


def starter_trees_load(*, directory: Path) -> StarterTreesReport:
    """Load kb/content/<system>/_trees/*.yml; idempotent (an unchanged file is not even re-validated).

    All files are validated first (links between them may point either way) and then saved in one
    transaction, so one bad file changes nothing.
    """
    report = StarterTreesReport()
    files = sorted(Path(directory).glob("*/_trees/*.yml"))
    documents: list[tuple[str, bytes, dict[str, Any]]] = []
    for path in files:
        where = f"{path.parent.parent.name}/_trees/{path.name}"
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        existing = DecisionTree.objects.filter(source_file=where).first()
        if existing is not None and existing.source_hash == digest:
            report.unchanged.append(where)
            continue
        try:
            document = yaml_parse(data)
        except TreeInvalid as exc:
            raise TreeInvalid([f"{where}: {error}" for error in exc.errors]) from None
        if isinstance(document, dict) and not document.get("system"):
            document["system"] = path.parent.parent.name
        documents.append((where, data, document))
    names = {f"{one_line(d.get('system'))}/{one_line(d.get('slug'))}" for _, _, d in documents if isinstance(d, dict)}
    with transaction.atomic():
        pending: list[tuple[str, bytes, ValidTree]] = []
        for where, data, document in documents:
            try:
                pending.append((where, data, tree_validate(document, extra_trees=names)))
            except TreeInvalid as exc:
                raise TreeInvalid([f"{where}: {error}" for error in exc.errors]) from None
        # Trees whose links already resolve are saved first; the rest are validated again once their
        # targets exist. Trees linking to each other in a ring are saved once more to fill in the links.
        ring: list[tuple[str, bytes, ValidTree]] = []
        while pending:
            ready = [item for item in pending if not item[2].has_unresolved_links]
            if not ready:
                ready = ring = pending
            for where, data, tree_valid in ready:
                result = tree_apply(valid=tree_valid, note="Starter content", source_file=where,
                                    source_hash=hashlib.sha256(data).hexdigest())
                target = report.created if result.created else report.updated if result.changed else report.unchanged
                target.append(where)
            done = {id(item) for item in ready}
            pending = [(where, data, tree_validate(valid.document, extra_trees=names))
                       for where, data, valid in (item for item in pending if id(item) not in done)]
        for where, data, tree_valid in ring:
            tree_apply(valid=tree_validate(tree_valid.document), note="Starter content (links)",
                       source_file=where, source_hash=hashlib.sha256(data).hexdigest())
    return report


def starter_step(*, directory: Path, dry_run: bool) -> list[str]:
    """The loader step kb runs last: load the trees (not on a dry run) and say what changed."""
    if dry_run:
        return []
    try:
        return [starter_trees_load(directory=directory).summary_line()]
    except TreeInvalid as exc:
        raise StarterStepRefused("starter decision trees", exc.errors) from None
