"""Decision trees: YAML in and out, validation, revisions, walkthroughs that run checks, analytics.

A tree is written as YAML (the canonical form is what ``tree_export_yaml`` writes; importing it and
exporting again gives the same text)::

    slug: api-will-not-start
    title: The API will not start
    system: coordinaitor
    status: published
    symptoms:
    - PM2 keeps restarting orchestrator-api because a module cannot be loaded
    entry: port
    nodes:
    - key: port
      kind: check                      # question | check | instruction | solution | link | escalate
      title: Is port 3000 free?
      check: coordinaitor-api-port     # a diagnostics check, by slug (or exact name)
      target: '{host}:{port}'          # optional: run it against values from a matched log line
      branches: {OK: ..., WARNING: ..., CRITICAL: ..., UNKNOWN: ...}
    - key: ask
      kind: question
      prompt: Markdown text
      answers:
      - label: 'Yes'
        next: fix
    - key: fix
      kind: solution
      article: port-3000-or-3001-already-in-use   # an article of the same system (or system/slug)
      solution: Free the port                      # or a solution of the system, by title
      next: escalate                               # where "No, it did not fix it" goes
    - key: escalate
      kind: escalate

Walkthroughs: every visited node is a ``WalkthroughStep`` numbered from 1, so each step has its own URL.
Answering an earlier step again drops the steps after it and continues from the new answer. A check
node queues its check when entered (after the transaction commits) and the step answers itself once the
run is done, unless the result is UNKNOWN (or has no branch), or the walker chose to answer themselves.
"""

from __future__ import annotations

import hashlib
import re
import statistics
import string
from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.text import slugify

from diagnostics.models import Check, CheckRun, CheckState
from diagnostics.services import check_create, check_runs_queue
from diagnostics.targets import Allowlist, ip_literal

from .markdown import render_markdown
from .models import Article, Solution, Symptom, System
from .tree_models import DecisionTree, TreeNode, TreeRevision, Walkthrough, WalkthroughStep

Kind = TreeNode.Kind
Outcome = Walkthrough.Outcome

MAX_YAML_BYTES = 1024 * 1024
MAX_NODES = 500
MAX_ANSWERS = 20
MAX_PROMPT_CHARS = 20_000
MAX_STEPS = 200  # a walkthrough longer than this is going round in circles
STATES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
REQUIRED_BRANCHES = ("OK", "CRITICAL")
CONTEXT_FIELDS = ("host", "port")
# Walkthroughs untouched this long count as abandoned in analytics.
ABANDON_AFTER = timedelta(hours=24)
# gunicorn refuses request lines over 4094 bytes; the incident prefill link stays below that.
MAX_PREFILL_URL = 3800
KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")
TOP_KEYS = ("slug", "title", "system", "status", "description", "symptoms", "entry", "nodes")
NODE_KEYS = ("key", "kind", "title", "prompt", "answers", "check", "target", "branches", "article", "solution",
             "next", "tree", "severity")
# Which optional keys each kind may carry (key, kind, title and prompt are always allowed).
KIND_KEYS: dict[str, set[str]] = {
    Kind.QUESTION: {"answers"},
    Kind.CHECK: {"check", "target", "branches"},
    Kind.INSTRUCTION: {"next"},
    Kind.SOLUTION: {"article", "solution", "next"},
    Kind.LINK: {"tree"},
    Kind.ESCALATE: {"severity"},
}
CHECK_LABELS = {
    "OK": "It works (OK)",
    "WARNING": "It works, but not well (WARNING)",
    "CRITICAL": "It fails (CRITICAL)",
    "UNKNOWN": "I can't tell",
}


class TreeInvalid(ValueError):
    """The tree document has problems; ``errors`` lists every one of them and nothing was saved."""

    def __init__(self, errors: list[str]) -> None:
        shown = "; ".join(errors[:5]) + (f" (and {len(errors) - 5} more)" if len(errors) > 5 else "")
        super().__init__(shown)
        self.errors = errors


class WalkthroughError(ValueError):
    """An answer or move that does not fit the walkthrough's current state (shown to the walker)."""


# --- YAML ----------------------------------------------------------------------------------------------
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


def _line(value: Any) -> str:
    return " ".join(str(value).split()) if _is_scalar(value) else ""


# --- validation ----------------------------------------------------------------------------------------


@dataclass
class ValidNode:
    key: str
    kind: str
    title: str
    prompt: str
    answers: list[dict[str, str]] = field(default_factory=list)
    check: Check | None = None
    target: str = ""
    branches: dict[str, str] = field(default_factory=dict)
    article: Article | None = None
    solution: Solution | None = None
    next: str = ""
    tree_ref: str = ""
    severity: str = ""

    def edges(self) -> list[str]:
        if self.kind == Kind.QUESTION:
            return [a["next"] for a in self.answers]
        if self.kind == Kind.CHECK:
            return list(self.branches.values())
        if self.kind in (Kind.INSTRUCTION, Kind.SOLUTION):
            return [self.next] if self.next else []
        return []

    @property
    def is_exit(self) -> bool:
        # A solution ends the walkthrough when it fixed the problem; links and escalations always end it.
        return self.kind in (Kind.SOLUTION, Kind.LINK, Kind.ESCALATE)


@dataclass
class ValidTree:
    """A checked document: its canonical form and every reference resolved to a row."""

    document: dict[str, Any]
    system: System
    slug: str
    title: str
    description: str
    status: str
    symptoms: list[Symptom]
    entry: str
    nodes: list[ValidNode]
    linked: dict[str, DecisionTree]

    @property
    def yaml(self) -> str:
        return yaml_dump(self.document)


def _check_lookup(ref: str) -> Check | None:
    return Check.objects.filter(slug=ref).first() or Check.objects.filter(name=ref).order_by("pk").first()


def _split_ref(ref: str, system: System) -> tuple[str, str]:
    """``other-system/slug`` or ``slug`` (this system)."""
    if "/" in ref:
        system_slug, _, rest = ref.partition("/")
        return system_slug.strip(), rest.strip()
    return system.slug, ref


def tree_validate(document: Any, *, system: System | None = None, extra_trees: Iterable[str] = ()) -> ValidTree:
    """Check a parsed document against the knowledge base; TreeInvalid lists every problem found.

    ``system`` forces the tree's system (the URL says which); ``extra_trees`` are ``system/slug`` names of
    trees being imported alongside, which links may point at.
    """
    errors: list[str] = []
    if not isinstance(document, dict):
        raise TreeInvalid(["The document must be a mapping with slug, title, system, entry and nodes."])
    unknown_top = [k for k in document if k not in TOP_KEYS]
    if unknown_top:
        errors.append(f"Unknown top-level keys: {', '.join(map(str, unknown_top))} "
                      f"(allowed: {', '.join(TOP_KEYS)}).")

    title = _line(document.get("title"))
    if not title:
        errors.append("The tree needs a title.")
    elif len(title) > 255:
        errors.append("The title is longer than 255 characters.")
    slug = _line(document.get("slug")) or slugify(title)
    if slug != slugify(slug) or not slug or len(slug) > 120:
        errors.append(f"The slug {slug!r} must be lower-case letters, digits and dashes (at most 120).")

    system_ref = _line(document.get("system"))
    if system is None:
        if not system_ref:
            raise TreeInvalid([*errors, "Say which system the tree belongs to (system: <slug>)."])
        system = System.objects.filter(slug=system_ref).first() or System.objects.filter(name=system_ref).first()
        if system is None:
            raise TreeInvalid([*errors, f"Unknown system {system_ref!r}."])
    elif system_ref and system_ref not in (system.slug, system.name):
        errors.append(f"This tree says it belongs to {system_ref!r}, but it is being saved under {system.slug!r}.")

    status = _line(document.get("status") or DecisionTree.Status.PUBLISHED).lower()
    if status not in DecisionTree.Status.values:
        errors.append(f"Status {status!r} is not one of: {', '.join(DecisionTree.Status.values)}.")
    description = clean_text(document.get("description"))

    symptoms: list[Symptom] = []
    symptom_refs: list[str] = []
    raw_symptoms = document.get("symptoms") or []
    if not isinstance(raw_symptoms, list):
        errors.append("symptoms must be a list of symptom titles.")
        raw_symptoms = []
    for raw in raw_symptoms:
        ref = _line(raw)
        found = list(Symptom.objects.filter(system=system, title=ref).order_by("pk"))
        if not found:
            errors.append(f"Unknown symptom {ref!r}: no symptom of {system.name} has that title.")
        elif ref not in symptom_refs:
            symptom_refs.append(ref)
            symptoms.extend(found)
    symptom_refs.sort()  # the canonical order, whatever order they were written in

    raw_nodes = document.get("nodes")
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise TreeInvalid([*errors, "The tree needs a non-empty list of nodes."])
    if len(raw_nodes) > MAX_NODES:
        raise TreeInvalid([*errors, f"A tree has at most {MAX_NODES} nodes; this one has {len(raw_nodes)}."])

    nodes: list[ValidNode] = []
    seen: set[str] = set()
    linked: dict[str, DecisionTree] = {}
    extra = set(extra_trees)
    canonical_nodes: list[dict[str, Any]] = []
    for index, raw in enumerate(raw_nodes, start=1):
        if not isinstance(raw, dict):
            errors.append(f"Node {index} must be a mapping (key, kind, ...).")
            continue
        key = _line(raw.get("key"))
        where = f"Node {key!r}" if key else f"Node {index}"
        if not key:
            errors.append(f"Node {index} needs a key.")
            continue
        if not KEY_RE.match(key):
            errors.append(f"{where}: a key is letters, digits, _ and - (at most 80, starting with a letter or digit).")
            continue
        if key in seen:
            errors.append(f"{where}: the key is used twice; keys must be unique in a tree.")
            continue
        seen.add(key)
        kind = _line(raw.get("kind")).lower()
        if kind not in Kind.values:
            errors.append(f"{where}: unknown kind {kind!r}; use one of {', '.join(Kind.values)}.")
            continue
        allowed = {"key", "kind", "title", "prompt"} | KIND_KEYS[kind]
        stray = [k for k in raw if k not in allowed]
        if stray:
            errors.append(f"{where}: a {kind} node does not take {', '.join(map(str, stray))}.")
        node = ValidNode(key=key, kind=kind, title=_line(raw.get("title")), prompt=clean_text(raw.get("prompt")))
        if len(node.title) > 200:
            errors.append(f"{where}: the title is longer than 200 characters.")
        if len(node.prompt) > MAX_PROMPT_CHARS:
            errors.append(f"{where}: the prompt is longer than {MAX_PROMPT_CHARS} characters.")
        canonical: dict[str, Any] = {"key": key, "kind": kind}
        if node.title:
            canonical["title"] = node.title
        if node.prompt:
            canonical["prompt"] = node.prompt

        if kind == Kind.QUESTION:
            answers = raw.get("answers")
            if not isinstance(answers, list) or not answers:
                errors.append(f"{where}: a question needs a list of answers, each with a label and next.")
                answers = []
            if len(answers) > MAX_ANSWERS:
                errors.append(f"{where}: at most {MAX_ANSWERS} answers.")
            labels: set[str] = set()
            for number, answer in enumerate(answers, start=1):
                if not isinstance(answer, dict):
                    errors.append(f"{where}: answer {number} must be a mapping with a label and next.")
                    continue
                label, target = _line(answer.get("label")), _line(answer.get("next"))
                if not label:
                    errors.append(f"{where}: answer {number} has no label.")
                elif label.lower() in labels:
                    errors.append(f"{where}: two answers are labelled {label!r}.")
                if len(label) > 200:
                    errors.append(f"{where}: answer {number}'s label is longer than 200 characters.")
                if not target:
                    errors.append(f"{where}: answer {number} ({label or 'no label'}) does not say which node is next.")
                stray = [k for k in answer if k not in ("label", "next")]
                if stray:
                    errors.append(f"{where}: answer {number} has unknown keys {', '.join(map(str, stray))}.")
                labels.add(label.lower())
                node.answers.append({"label": label, "next": target})
            canonical["answers"] = [dict(a) for a in node.answers]

        elif kind == Kind.CHECK:
            ref = _line(raw.get("check"))
            if not ref:
                errors.append(f"{where}: a check node needs a check (its slug).")
            else:
                node.check = _check_lookup(ref)
                if node.check is None:
                    errors.append(f"{where}: unknown check {ref!r}; no diagnostics check has that slug or name.")
            canonical["check"] = node.check.slug if node.check else ref
            node.target = _line(raw.get("target"))
            if node.target:
                problem = _target_template_problem(node.target)
                if problem:
                    errors.append(f"{where}: target {node.target!r} {problem}.")
                canonical["target"] = node.target
            branches = raw.get("branches")
            if not isinstance(branches, dict) or not branches:
                errors.append(f"{where}: a check node needs branches, e.g. {{OK: next-key, CRITICAL: other-key}}.")
                branches = {}
            for state, target in branches.items():
                name = _line(state).upper()
                if name not in STATES:
                    errors.append(f"{where}: branch {state!r} is not a check state ({', '.join(STATES)}).")
                    continue
                if not _line(target):
                    errors.append(f"{where}: branch {name} does not say which node is next.")
                    continue
                node.branches[name] = _line(target)
            missing = [s for s in REQUIRED_BRANCHES if s not in node.branches]
            if branches and missing:
                errors.append(f"{where}: a check node needs at least the {' and '.join(missing)} branch"
                              f"{'es' if len(missing) > 1 else ''}.")
            node.branches = {s: node.branches[s] for s in STATES if s in node.branches}
            canonical["branches"] = dict(node.branches)

        elif kind == Kind.INSTRUCTION:
            node.next = _line(raw.get("next"))
            if not node.next:
                errors.append(f"{where}: an instruction needs next (where to go once it is done).")
            canonical["next"] = node.next

        elif kind == Kind.SOLUTION:
            article_ref, solution_ref = _line(raw.get("article")), _line(raw.get("solution"))
            if not article_ref and not solution_ref and not node.prompt:
                errors.append(f"{where}: a solution node needs an article (slug), a solution (title) or a prompt "
                              "that says what to do.")
            if article_ref:
                system_slug, article_slug = _split_ref(article_ref, system)
                node.article = Article.objects.filter(system__slug=system_slug, slug=article_slug).first()
                if node.article is None:
                    errors.append(f"{where}: unknown article {article_ref!r}.")
                same = system_slug == system.slug
                canonical["article"] = article_slug if same else f"{system_slug}/{article_slug}"
            if solution_ref:
                node.solution = Solution.objects.filter(system=system, title=solution_ref).order_by("pk").first()
                if node.solution is None:
                    errors.append(f"{where}: unknown solution {solution_ref!r}; no solution of {system.name} "
                                  "has that title.")
                canonical["solution"] = solution_ref
            node.next = _line(raw.get("next"))
            if not node.next:
                errors.append(f"{where}: a solution needs next (where to go when it did not fix the problem).")
            canonical["next"] = node.next

        elif kind == Kind.LINK:
            ref = _line(raw.get("tree"))
            if not ref:
                errors.append(f"{where}: a link node needs tree (the slug of the tree to continue in).")
            else:
                system_slug, tree_slug = _split_ref(ref, system)
                if system_slug == system.slug and tree_slug == slug:
                    errors.append(f"{where}: a tree cannot link to itself.")
                else:
                    target_tree = DecisionTree.objects.filter(system__slug=system_slug, slug=tree_slug).first()
                    if target_tree is not None:
                        linked[key] = target_tree
                    elif f"{system_slug}/{tree_slug}" not in extra:
                        errors.append(f"{where}: unknown tree {ref!r}.")
                node.tree_ref = tree_slug if system_slug == system.slug else f"{system_slug}/{tree_slug}"
            canonical["tree"] = node.tree_ref or ref

        elif kind == Kind.ESCALATE:
            node.severity = _line(raw.get("severity"))
            if node.severity:
                if len(node.severity) > 40 or node.severity != slugify(node.severity):
                    errors.append(f"{where}: severity must be a severity slug such as sev2.")
                canonical["severity"] = node.severity

        nodes.append(node)
        canonical_nodes.append(canonical)

    by_key = {n.key: n for n in nodes}
    entry = _line(document.get("entry")) or (nodes[0].key if nodes else "")
    if entry and entry not in seen:
        errors.append(f"The entry node {entry!r} does not exist.")

    # Dangling references (a node that exists but had errors of its own is not reported twice).
    for node in nodes:
        for target in node.edges():
            if target and target not in seen:
                errors.append(f"Node {node.key!r} points at {target!r}, which is not a node of this tree.")

    if not errors and entry in by_key:
        errors.extend(_graph_problems(nodes, entry))

    if errors:
        raise TreeInvalid(errors)
    canonical_doc: dict[str, Any] = {"slug": slug, "title": title, "system": system.slug, "status": status}
    if description:
        canonical_doc["description"] = description
    if symptom_refs:
        canonical_doc["symptoms"] = symptom_refs
    canonical_doc["entry"] = entry
    canonical_doc["nodes"] = canonical_nodes
    return ValidTree(document=canonical_doc, system=system, slug=slug, title=title, description=description,
                     status=status, symptoms=symptoms, entry=entry, nodes=nodes, linked=linked)


def _graph_problems(nodes: list[ValidNode], entry: str) -> list[str]:
    """Unreachable nodes, and nodes from which no exit (solution, link, escalation) can be reached."""
    by_key = {n.key: n for n in nodes}
    reachable: list[str] = []
    seen = {entry}
    queue = deque([entry])
    while queue:
        key = queue.popleft()
        reachable.append(key)
        for target in by_key[key].edges():
            if target not in seen:
                seen.add(target)
                queue.append(target)
    problems = []
    unreachable = [n.key for n in nodes if n.key not in seen]
    if unreachable:
        problems.append(f"Unreachable from the entry node {entry!r}: {', '.join(unreachable)}. "
                        "Point an answer or branch at them, or remove them.")
    # Walk backwards from the exits: whatever cannot get there is stuck in a loop.
    incoming: dict[str, list[str]] = defaultdict(list)
    for node in nodes:
        for target in node.edges():
            incoming[target].append(node.key)
    can_exit = {n.key for n in nodes if n.is_exit}
    queue = deque(can_exit)
    while queue:
        key = queue.popleft()
        for source in incoming[key]:
            if source not in can_exit:
                can_exit.add(source)
                queue.append(source)
    stuck = [key for key in reachable if key not in can_exit]
    if stuck:
        problems.append(f"Loop with no exit: from {', '.join(stuck)} no path reaches a solution, an escalation "
                        "or a link to another tree. Give one of them an answer that leads out.")
    return problems


def _target_template_problem(template: str) -> str | None:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        return f"is not a valid template ({exc})"
    unknown = sorted(n for n in names if n not in CONTEXT_FIELDS)
    if unknown:
        return f"uses {', '.join('{' + n + '}' for n in unknown)}; only {{host}} and {{port}} are available"
    if not names:
        return "uses no {host} or {port}; leave it out to run the check as defined"
    return None


def tree_validate_yaml(text: str | bytes, *, system: System | None = None) -> ValidTree:
    return tree_validate(yaml_parse(text), system=system)


# --- export --------------------------------------------------------------------------------------------


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


# --- writes --------------------------------------------------------------------------------------------


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
        given = _line(document.get("slug"))
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


# --- starter content -----------------------------------------------------------------------------------


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
    names = {f"{_line(d.get('system'))}/{_line(d.get('slug'))}" for _, _, d in documents if isinstance(d, dict)}
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
            ready = [item for item in pending if not _unresolved_links(item[2])]
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


# --- reads ---------------------------------------------------------------------------------------------


def _unresolved_links(valid: ValidTree) -> bool:
    return any(node.kind == Kind.LINK and node.key not in valid.linked for node in valid.nodes)


def tree_list(*, user: Any = None, system: str | None = None) -> QuerySet[DecisionTree]:
    trees = DecisionTree.objects.select_related("system").order_by("system__name", "title")
    if not (user is not None and getattr(user, "is_staff", False)):
        trees = trees.filter(status=DecisionTree.Status.PUBLISHED)
    if system:
        trees = trees.filter(system__slug=system)
    return trees


def tree_get(*, system_slug: str, slug: str, user: Any = None) -> DecisionTree:
    """DecisionTree.DoesNotExist for a missing tree, or a draft asked for by someone who is not staff."""
    return tree_list(user=user).get(system__slug=system_slug, slug=slug)


def tree_nodes(tree: DecisionTree) -> dict[str, TreeNode]:
    nodes = tree.nodes.select_related("check_def", "article__system", "solution", "linked_tree__system")
    return {node.key: node for node in nodes}


def trees_for_symptoms(symptom_ids: Iterable[int]) -> dict[int, DecisionTree]:
    """The published tree that handles each symptom (the oldest, when several do)."""
    through = DecisionTree.symptoms.through
    rows = (through.objects.filter(symptom_id__in=list(symptom_ids), decisiontree__status=DecisionTree.Status.PUBLISHED)
            .select_related("decisiontree__system").order_by("decisiontree_id"))
    found: dict[int, DecisionTree] = {}
    for row in rows:
        found.setdefault(row.symptom_id, row.decisiontree)
    return found


def trees_for_articles(article_ids: Iterable[int]) -> dict[int, list[DecisionTree]]:
    """The published trees with a node that leads to each article, in one query (for lists of hits)."""
    nodes = (TreeNode.objects.filter(article_id__in=list(article_ids), tree__status=DecisionTree.Status.PUBLISHED)
             .select_related("tree__system").order_by("tree__title"))
    found: dict[int, list[DecisionTree]] = {}
    for node in nodes:
        trees = found.setdefault(node.article_id, [])
        if all(tree.pk != node.tree_id for tree in trees):
            trees.append(node.tree)
    return found


def tree_order(tree: DecisionTree, nodes: dict[str, TreeNode] | None = None) -> list[TreeNode]:
    """Nodes in walking order (breadth first from the entry), then any the entry cannot reach."""
    nodes = nodes if nodes is not None else tree_nodes(tree)
    entry = tree.entry_node.key if tree.entry_node_id and tree.entry_node else next(iter(nodes), None)
    ordered: list[TreeNode] = []
    seen: set[str] = set()
    queue = deque([entry] if entry in nodes else [])
    seen.update(queue)
    while queue:
        node = nodes[queue.popleft()]
        ordered.append(node)
        for option in node_options(node):
            if option.next_key and option.next_key in nodes and option.next_key not in seen:
                seen.add(option.next_key)
                queue.append(option.next_key)
    ordered.extend(sorted((n for k, n in nodes.items() if k not in seen), key=lambda n: n.position))
    return ordered


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
        for option in node_options(node):
            if option.next_key in ids:
                lines.append(f'  {ids[key]} -->|"{_mermaid_label(option.short)}"| {ids[option.next_key]}')
    entry = tree.entry_node.key if tree.entry_node_id and tree.entry_node else None
    if entry in ids:
        lines.append(f"  style {ids[entry]} stroke-width:3px")
    return "\n".join(lines)


# --- walking -------------------------------------------------------------------------------------------


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


def context_from_text(text: str) -> dict[str, str]:
    """Host and port found in a log line (a URL, host:port, or "host X ... port N"), for the tree's checks."""
    text = text[:4000]
    host = port = ""
    url = re.search(r"\b[a-z][a-z0-9+.-]{1,15}://(?:[^@/\s]+@)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?",
                    text)
    pair = re.search(
        r"(?<![\w/.:\-])(\[[0-9a-fA-F:.]+\]|\d{1,3}(?:\.\d{1,3}){3}|[A-Za-z][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)*)"
        r":(\d{2,5})\b", text)
    if url:
        host, port = url.group(1), url.group(2) or ""
    if pair and (not host or not port):
        host, port = host or pair.group(1), port or pair.group(2)
    if not host:
        named = re.search(r"""\bhost(?:name)?\s*[=:]?\s*["']?([A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9a-fA-F:.]+\])""", text,
                          re.IGNORECASE)
        host = named.group(1) if named else ""
    if not port:
        numbered = re.search(r"\bport\s*[=:]?\s*(\d{2,5})\b", text, re.IGNORECASE) or re.search(
            r"(?:^|\s):::?(\d{2,5})\b", text)
        port = numbered.group(1) if numbered else ""
    context: dict[str, str] = {}
    if host and len(host) <= 253 and host.lower() not in ("http", "https"):
        context["host"] = host.strip("[]")
    if port.isdigit() and 0 < int(port) < 65536:
        context["port"] = str(int(port))
    return context


def context_clean(values: dict[str, Any]) -> dict[str, Any]:
    """Keep only well-formed context values (they end up in check targets)."""
    context: dict[str, Any] = {}
    host = str(values.get("host") or "").strip().strip("[]")
    if host and len(host) <= 253 and re.fullmatch(r"[A-Za-z0-9.:-]+", host) and host[0] not in ".-":
        context["host"] = host
    port = str(values.get("port") or "").strip()
    if port.isdigit() and 0 < int(port) < 65536:
        context["port"] = str(int(port))
    line = " ".join(str(values.get("line") or "").split())
    if line:
        context["line"] = line[:500]
    symptom = values.get("symptom")
    if str(symptom or "").isdigit():
        context["symptom"] = int(symptom)
    return context


def _context_host_allowed(host: str) -> bool:
    """Only hosts the check allowlist names outright get a check built for them (no DNS, no junk rows)."""
    allowlist = Allowlist.from_settings()
    literal = ip_literal(host)
    if literal is not None:
        return any(literal in network for network in allowlist.networks if network.version == literal.version)
    return host.lower().rstrip(".") in allowlist.hostnames


def _check_for_context(node: TreeNode, context: dict[str, Any], user: Any) -> tuple[Check, str]:
    """The check to run at a node: the node's own, or a copy aimed at the context's host and port."""
    check = node.check_def
    if not node.check_target or check is None:
        return check, ""
    try:
        target = node.check_target.format_map({name: context[name] for name in CONTEXT_FIELDS if name in context})
    except (KeyError, ValueError, IndexError):
        return check, ""
    host = context.get("host", "")
    if host and not _context_host_allowed(host):
        return check, f"{host} is not a host checks may reach, so the check ran as defined."
    slug = f"{check.slug[:90]}-at-{hashlib.sha256(target.encode()).hexdigest()[:10]}"
    derived = Check.objects.filter(slug=slug).first()
    if derived is None:
        try:
            with transaction.atomic():
                derived = check_create(
                    created_by=user, name=f"{check.name[:150]} ({target[:40]})", slug=slug, type=check.type,
                    description=f"A copy of “{check.name}” aimed at values from a matched log line, made by a "
                                f"decision-tree walkthrough.",
                    target=target, parameters=check.parameters, conditions=check.conditions,
                    timeout_seconds=check.timeout_seconds, retries=check.retries,
                    warning_threshold=check.warning_threshold, critical_threshold=check.critical_threshold,
                )
        except ValidationError:
            return check, f"{target} is not a valid target for this check, so it ran as defined."
        except IntegrityError:  # created meanwhile by a parallel walkthrough
            derived = Check.objects.get(slug=slug)
    return derived, f"Ran against {target} (from your log)."


def _can_run_checks(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def _enter(walkthrough: Walkthrough, node: TreeNode, order: int, user: Any, *, trigger: str) -> WalkthroughStep:
    step = WalkthroughStep.objects.create(
        walkthrough=walkthrough, order=order, node_key=node.key, node_label=node.label[:200], node_kind=node.kind,
        entered_at=timezone.now(),
    )
    if node.kind == Kind.CHECK and node.check_def_id and _can_run_checks(user):
        _queue_check(step, node, walkthrough, user, trigger=trigger)
    return step


def _queue_check(step: WalkthroughStep, node: TreeNode, walkthrough: Walkthrough, user: Any, *,
                 trigger: str) -> None:
    check, note = _check_for_context(node, walkthrough.context or {}, user)
    if check is None or not check.enabled:
        step.check_message = "The check is disabled, so you are asked instead." if check is not None else ""
        step.save(update_fields=["check_message"])
        return
    # check_runs_queue enqueues the task when the surrounding transaction commits.
    _batch, runs = check_runs_queue(checks=[check], trigger=trigger, requested_by=user)
    step.check_run = runs[0] if runs else None
    step.check_state, step.check_message = "", note[:500]
    step.auto_answer = True
    step.save(update_fields=["check_run", "check_state", "check_message", "auto_answer"])


def walkthrough_start(*, tree: DecisionTree, user: Any = None, session_key: str = "",
                      context: dict[str, Any] | None = None, parent: Walkthrough | None = None,
                      trigger: str = CheckRun.Trigger.MANUAL) -> Walkthrough:
    """Start walking a tree at its entry node (a check there is queued straight away)."""
    nodes = tree_nodes(tree)
    entry = nodes.get(tree.entry_node.key) if tree.entry_node_id and tree.entry_node else None
    if entry is None:
        raise WalkthroughError("This tree has no entry node yet.")
    with transaction.atomic():
        walkthrough = Walkthrough.objects.create(
            tree=tree, user=user if getattr(user, "is_authenticated", False) else None,
            session_key="" if getattr(user, "is_authenticated", False) else (session_key or "")[:40],
            tree_revision=tree.revision, context=context_clean(context or {}), parent=parent,
        )
        _enter(walkthrough, entry, 1, user, trigger=trigger)
    return walkthrough


def walkthrough_steps(walkthrough: Walkthrough) -> list[WalkthroughStep]:
    return list(walkthrough.steps.select_related("check_run__check_def").order_by("order"))


def walkthrough_current(walkthrough: Walkthrough) -> WalkthroughStep | None:
    return walkthrough.steps.select_related("check_run__check_def").order_by("-order").first()


@dataclass
class AnswerResult:
    walkthrough: Walkthrough
    step: WalkthroughStep  # the step to show next (the new current one, or the last when it ended)
    child: Walkthrough | None = None  # a link node started this walkthrough of the linked tree


def _finish(walkthrough: Walkthrough, outcome: str, node_key: str) -> None:
    walkthrough.outcome, walkthrough.exit_node_key, walkthrough.finished_at = outcome, node_key, timezone.now()
    walkthrough.save(update_fields=["outcome", "exit_node_key", "finished_at", "updated_at"])


def _reopen(walkthrough: Walkthrough) -> None:
    if walkthrough.outcome != Outcome.IN_PROGRESS:
        walkthrough.outcome, walkthrough.exit_node_key, walkthrough.finished_at = Outcome.IN_PROGRESS, "", None
        walkthrough.save(update_fields=["outcome", "exit_node_key", "finished_at", "updated_at"])


def _follow(walkthrough: Walkthrough, step: WalkthroughStep, node: TreeNode, option: Option,
            nodes: dict[str, TreeNode], user: Any, *, trigger: str) -> AnswerResult:
    """Record ``option`` on ``step`` (already marked answered) and move on: next node or an outcome."""
    if option.outcome:
        _finish(walkthrough, option.outcome, node.key)
        child = None
        if option.outcome == Outcome.LINKED and node.linked_tree_id:
            child = walkthrough_start(tree=node.linked_tree, user=user, session_key=walkthrough.session_key,
                                      context=walkthrough.context, parent=walkthrough, trigger=trigger)
        return AnswerResult(walkthrough=walkthrough, step=step, child=child)
    target = nodes.get(option.next_key)
    if target is None:
        raise WalkthroughError("The tree changed and that answer leads nowhere now; restart the walkthrough.")
    if step.order >= MAX_STEPS:
        raise WalkthroughError(f"This walkthrough has gone {MAX_STEPS} steps; restart it or escalate.")
    _reopen(walkthrough)
    return AnswerResult(walkthrough=walkthrough, step=_enter(walkthrough, target, step.order + 1, user, trigger=trigger))


def walkthrough_answer(*, walkthrough: Walkthrough, step_number: int, choice: str, user: Any = None,
                       trigger: str = CheckRun.Trigger.MANUAL) -> AnswerResult:
    """Answer step ``step_number`` (the current step, or an earlier one to change its answer).

    Changing an earlier answer drops the steps after it. Giving the same answer again keeps them, so
    going Back and forward again loses nothing. ``choice`` ``rerun`` runs a check step's check again.
    """
    with transaction.atomic():
        walkthrough = Walkthrough.objects.select_for_update().select_related("tree__system").get(pk=walkthrough.pk)
        step = walkthrough.steps.filter(order=step_number).first()
        if step is None:
            raise WalkthroughError(f"This walkthrough has no step {step_number}.")
        nodes = tree_nodes(walkthrough.tree)
        node = nodes.get(step.node_key)
        if node is None:
            raise WalkthroughError("This step's node was removed from the tree; restart the walkthrough.")
        if choice == "rerun":
            if node.kind != Kind.CHECK or not node.check_def_id:
                raise WalkthroughError("Only a check step can run its check again.")
            if not _can_run_checks(user):
                raise WalkthroughError("Log in to run checks.")
            walkthrough.steps.filter(order__gt=step.order).delete()
            _reopen(walkthrough)
            step.left_at, step.choice, step.answer, step.answered_by_check = None, "", "", False
            step.save(update_fields=["left_at", "choice", "answer", "answered_by_check"])
            _queue_check(step, node, walkthrough, user, trigger=trigger)
            return AnswerResult(walkthrough=walkthrough, step=step)
        option = option_for(node, choice)
        following = walkthrough.steps.filter(order=step.order + 1).first()
        if step.is_answered and step.choice == option.choice:
            if following is not None and following.node_key == option.next_key:
                return AnswerResult(walkthrough=walkthrough, step=following)
            if option.outcome and walkthrough.outcome == option.outcome and following is None:
                return AnswerResult(walkthrough=walkthrough, step=step)
        walkthrough.steps.filter(order__gt=step.order).delete()
        step.left_at = timezone.now()
        step.choice, step.answer = option.choice, option.label[:255]
        step.answered_by_check = False
        if node.kind == Kind.CHECK:
            step.auto_answer = False  # they answered it themselves; Back must not let the check re-answer it
        step.save(update_fields=["left_at", "choice", "answer", "answered_by_check", "auto_answer"])
        return _follow(walkthrough, step, node, option, nodes, user, trigger=trigger)


def walkthrough_check_settle(*, walkthrough: Walkthrough, user: Any = None) -> WalkthroughStep | None:
    """If the current step is a check whose run is done, record the result and follow its branch.

    Returns the new current step when the check answered the step, else None (still running, UNKNOWN,
    no branch for that state, or the walker chose to answer). Safe to call from every poll: the step
    is claimed by a conditional UPDATE, so two polls cannot both advance it.
    """
    step = walkthrough_current(walkthrough)
    if step is None or step.is_answered or step.node_kind != Kind.CHECK or step.check_run_id is None:
        return None
    run = step.check_run
    if run is None or not run.is_done:
        return None
    if not step.check_state:
        # Keep the note written when it was queued ("Ran against host:port"), then what the check said.
        step.check_state = run.state
        step.check_message = " ".join(part for part in (step.check_message, run.message) if part)[:500]
        WalkthroughStep.objects.filter(pk=step.pk).update(check_state=step.check_state,
                                                          check_message=step.check_message)
    state = (run.state or "").upper()
    if not step.auto_answer or state == "UNKNOWN":
        return None
    with transaction.atomic():
        walkthrough = Walkthrough.objects.select_for_update().select_related("tree__system").get(pk=walkthrough.pk)
        nodes = tree_nodes(walkthrough.tree)
        node = nodes.get(step.node_key)
        if node is None or state not in (node.branches or {}):
            return None
        option = option_for(node, state.lower())
        claimed = WalkthroughStep.objects.filter(pk=step.pk, left_at__isnull=True, auto_answer=True).update(
            left_at=timezone.now(), choice=option.choice, answered_by_check=True,
            answer=f"The check answered: {CheckState(run.state).label}"[:255],
        )
        if not claimed:
            return None
        step.refresh_from_db()
        owner = walkthrough.user if walkthrough.user_id else user
        return _follow(walkthrough, step, node, option, nodes, owner, trigger=CheckRun.Trigger.MANUAL).step


def walkthrough_go_back(*, walkthrough: Walkthrough) -> WalkthroughStep:
    """Undo the last answer: the previous step becomes current again (for bots; browsers use step URLs)."""
    with transaction.atomic():
        walkthrough = Walkthrough.objects.select_for_update().get(pk=walkthrough.pk)
        last = walkthrough.steps.order_by("-order").first()
        if last is None:
            raise WalkthroughError("This walkthrough has no steps.")
        if last.is_answered:
            reopen = last  # it ended here: ask the last question again
        else:
            if last.order == 1:
                raise WalkthroughError("This is the first step; there is nothing to go back to.")
            reopen = walkthrough.steps.get(order=last.order - 1)
            last.delete()
        reopen.left_at, reopen.choice, reopen.answer, reopen.answered_by_check = None, "", "", False
        reopen.auto_answer = False
        reopen.save(update_fields=["left_at", "choice", "answer", "answered_by_check", "auto_answer"])
        _reopen(walkthrough)
        return reopen


def walkthrough_abandon(*, walkthrough: Walkthrough) -> bool:
    """Give up on an unfinished walkthrough; False when it had already ended."""
    current = walkthrough_current(walkthrough)
    return bool(Walkthrough.objects.filter(pk=walkthrough.pk, outcome=Outcome.IN_PROGRESS).update(
        outcome=Outcome.ABANDONED, finished_at=timezone.now(), updated_at=timezone.now(),
        exit_node_key=current.node_key if current else "",
    ))


def walkthrough_restart(*, walkthrough: Walkthrough, user: Any = None, session_key: str = "") -> Walkthrough:
    """Abandon this walkthrough (if unfinished) and start the tree again with the same context."""
    with transaction.atomic():
        walkthrough_abandon(walkthrough=walkthrough)
        return walkthrough_start(tree=walkthrough.tree, user=user, session_key=session_key,
                                 context=walkthrough.context, parent=walkthrough.parent)


def walkthrough_for_visitor(*, tree: DecisionTree, user: Any, session_key: str | None) -> Walkthrough | None:
    """The visitor's most recent unfinished walkthrough of this tree, to offer resuming it."""
    mine = Walkthrough.objects.filter(tree=tree, outcome=Outcome.IN_PROGRESS)
    if getattr(user, "is_authenticated", False):
        mine = mine.filter(user=user)
    elif session_key:
        mine = mine.filter(user__isnull=True, session_key=session_key)
    else:
        return None
    return mine.order_by("-updated_at", "-pk").first()


def walkthrough_is_owner(walkthrough: Walkthrough, *, user: Any, session_key: str | None) -> bool:
    if getattr(user, "is_authenticated", False):
        return walkthrough.user_id == user.pk or bool(user.is_staff)
    return walkthrough.user_id is None and bool(session_key) and walkthrough.session_key == session_key


def walkthrough_can_view(walkthrough: Walkthrough, *, user: Any, session_key: str | None) -> bool:
    """Owners, and any signed-in colleague holding the link (shared links); anonymous visitors only their own."""
    return walkthrough_is_owner(walkthrough, user=user, session_key=session_key) or \
        bool(getattr(user, "is_authenticated", False))


# --- transcripts and escalation ------------------------------------------------------------------------


def _absolute(path: str) -> str:
    return f"{str(getattr(settings, 'TRIAGE_BASE_URL', '')).rstrip('/')}{path}"


def walkthrough_transcript_lines(walkthrough: Walkthrough) -> list[str]:
    lines: list[str] = []
    if walkthrough.parent_id:
        lines.extend(walkthrough_transcript_lines(walkthrough.parent))
        lines.append("")
    tree = walkthrough.tree
    who = walkthrough.user.get_username() if walkthrough.user_id else "an anonymous visitor"
    lines.append(f"Decision tree “{tree.title}” ({tree.system.name}), revision {walkthrough.tree_revision}")
    lines.append(f"Started {walkthrough.started_at:%Y-%m-%d %H:%M} UTC by {who}; "
                 f"outcome: {walkthrough.get_outcome_display()}")
    context = walkthrough.context or {}
    values = ", ".join(f"{name}={context[name]}" for name in CONTEXT_FIELDS if context.get(name))
    if values:
        lines.append(f"Values from the log: {values}")
    if context.get("line"):
        lines.append(f"Matched line: {context['line']}")
    for step in walkthrough_steps(walkthrough):
        text = f"{step.order}. {step.node_label or step.node_key}"
        if step.check_state:
            text += f" [check: {step.check_state.upper()}" + (f", {step.check_message}" if step.check_message else "")
            text += "]"
        if step.is_answered:
            text += f" — {step.answer}" + (" (answered by the check)" if step.answered_by_check else "")
        else:
            text += " — (not answered yet)"
        lines.append(text)
    lines.append(f"Walkthrough: {_absolute(walkthrough.get_absolute_url())}")
    return lines


def walkthrough_transcript(walkthrough: Walkthrough) -> str:
    """The walkthrough as plain text, for an incident timeline (incidents calls this; kb never imports it)."""
    return "\n".join(walkthrough_transcript_lines(walkthrough))


def walkthrough_incident_url(walkthrough: Walkthrough) -> str | None:
    """The incident form prefilled from this walkthrough (title, system, summary, transcript, severity)."""
    try:
        base = reverse("incidents:new")
    except NoReverseMatch:
        return None
    tree = walkthrough.tree
    last = walkthrough_current(walkthrough)
    nodes = tree_nodes(tree)
    node = nodes.get(last.node_key) if last else None
    title = f"{tree.title}: not solved by the decision tree"[:200]
    body = (f"Walked the decision tree “{tree.title}” for {tree.system.name}; it did not solve the problem "
            f"and ended at “{last.node_label if last else '?'}”. The transcript is attached.")
    params = {"title": title, "system": tree.system.slug, "body": body}
    if node is not None and node.severity:
        params["severity"] = node.severity
    transcript = walkthrough_transcript(walkthrough)
    link = f"{base}?{urlencode({**params, 'transcript': transcript})}"
    if len(link) > MAX_PREFILL_URL:
        # Too long for a request line: keep the start and point to the full transcript.
        tail = f"\n… (shortened; the full transcript is at {_absolute(walkthrough.get_absolute_url())}"
        tail += "transcript/)"
        budget = len(transcript)
        while budget > 0 and len(link) > MAX_PREFILL_URL:
            budget = int(budget * 0.8)
            link = f"{base}?{urlencode({**params, 'transcript': transcript[:budget] + tail})}"
    return link


# --- analytics -----------------------------------------------------------------------------------------


@dataclass
class NodeStats:
    node: TreeNode | None
    key: str
    label: str
    visits: int = 0
    answered: int = 0
    abandons: int = 0
    exits: Counter = field(default_factory=Counter)
    median_seconds: float | None = None
    flagged: bool = False

    @property
    def exit_list(self) -> list[tuple[str, int]]:
        return sorted(self.exits.items())

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
        if finished and outcome in (Outcome.RESOLVED, Outcome.ESCALATED, Outcome.LINKED):
            durations.append((finished - started).total_seconds())
    nodes = tree_nodes(tree)
    stats: dict[str, NodeStats] = {key: NodeStats(node=node, key=key, label=node.label) for key, node in nodes.items()}
    times: dict[str, list[float]] = defaultdict(list)
    last_step: dict[int, tuple[int, str]] = {}
    steps = WalkthroughStep.objects.filter(walkthrough__tree=tree).values_list(
        "walkthrough_id", "order", "node_key", "node_label", "entered_at", "left_at")
    for walkthrough_id, order, key, label, entered, left in steps.iterator(chunk_size=2000):
        item = stats.get(key)
        if item is None:
            item = stats[key] = NodeStats(node=None, key=key, label=f"{label or key} (removed)")
        item.visits += 1
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
        completions=sum(outcomes[o] for o in (Outcome.RESOLVED, Outcome.ESCALATED, Outcome.LINKED)),
        outcomes=outcomes, nodes=ordered, exits=exit_rows,
        median_total_seconds=round(statistics.median(durations), 1) if durations else None,
    )


def tree_revisions(tree: DecisionTree) -> QuerySet[TreeRevision]:
    return tree.revisions.select_related("author").order_by("-number")


def walkthrough_list(*, user: Any, tree: DecisionTree | None = None) -> QuerySet[Walkthrough]:
    walkthroughs = Walkthrough.objects.select_related("tree__system", "user").order_by("-started_at", "-pk")
    if not getattr(user, "is_staff", False):
        walkthroughs = walkthroughs.filter(user=user) if getattr(user, "is_authenticated", False) else \
            walkthroughs.none()
    if tree is not None:
        walkthroughs = walkthroughs.filter(tree=tree)
    return walkthroughs

