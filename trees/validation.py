"""Checking a tree document against the knowledge base before anything is saved.

A tree is written as YAML (the canonical form is what ``yaml_io.tree_export_yaml`` writes)::

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

``tree_validate`` reports every problem at once (TreeInvalid.errors) and returns a ``ValidTree``: the
canonical document plus every reference resolved to a row, ready for ``services.tree_apply``.
"""

from __future__ import annotations

import re
import string
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.text import slugify

from diagnostics.models import Check
from kb.models import Article, Solution, Symptom, System

from .exceptions import TreeInvalid
from .limits import CONTEXT_FIELDS, MAX_ANSWERS, MAX_NODES, MAX_PROMPT_CHARS, REQUIRED_BRANCHES, STATES
from .models import DecisionTree, TreeNode
from .yaml_io import clean_text, one_line, yaml_dump, yaml_parse

Kind = TreeNode.Kind

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
    linked_tree: DecisionTree | None = None  # a link node's target, once it exists
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

    @property
    def has_unresolved_links(self) -> bool:
        """A link node points at a tree that is being imported alongside and does not exist yet."""
        return any(node.kind == Kind.LINK and node.key not in self.linked for node in self.nodes)


@dataclass
class _Scope:
    """What node checks need besides the node: the tree they belong to, and where problems go."""

    system: System
    slug: str
    extra_trees: set[str]
    errors: list[str]


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
    title, slug = _title_and_slug(document, errors)
    system = _system(document, system, errors)
    status = one_line(document.get("status") or DecisionTree.Status.PUBLISHED).lower()
    if status not in DecisionTree.Status.values:
        errors.append(f"Status {status!r} is not one of: {', '.join(DecisionTree.Status.values)}.")
    description = clean_text(document.get("description"))
    symptoms, symptom_refs = _symptoms(document.get("symptoms") or [], system, errors)

    scope = _Scope(system=system, slug=slug, extra_trees=set(extra_trees), errors=errors)
    nodes, canonical_nodes, keys = _nodes(document.get("nodes"), scope)
    entry = _entry_and_edges(document, nodes, keys, errors)
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
                     status=status, symptoms=symptoms, entry=entry, nodes=nodes,
                     linked={node.key: node.linked_tree for node in nodes if node.linked_tree is not None})


def tree_validate_yaml(text: str | bytes, *, system: System | None = None) -> ValidTree:
    return tree_validate(yaml_parse(text), system=system)


# --- the document's head -------------------------------------------------------------------------------


def _title_and_slug(document: dict[str, Any], errors: list[str]) -> tuple[str, str]:
    title = one_line(document.get("title"))
    if not title:
        errors.append("The tree needs a title.")
    elif len(title) > 255:
        errors.append("The title is longer than 255 characters.")
    slug = one_line(document.get("slug")) or slugify(title)
    if slug != slugify(slug) or not slug or len(slug) > 120:
        errors.append(f"The slug {slug!r} must be lower-case letters, digits and dashes (at most 120).")
    return title, slug


def _system(document: dict[str, Any], forced: System | None, errors: list[str]) -> System:
    """The system the document names, or the one the caller forces (which the document may repeat)."""
    system_ref = one_line(document.get("system"))
    if forced is not None:
        if system_ref and system_ref not in (forced.slug, forced.name):
            errors.append(f"This tree says it belongs to {system_ref!r}, but it is being saved under "
                          f"{forced.slug!r}.")
        return forced
    if not system_ref:
        raise TreeInvalid([*errors, "Say which system the tree belongs to (system: <slug>)."])
    system = System.objects.filter(slug=system_ref).first() or System.objects.filter(name=system_ref).first()
    if system is None:
        raise TreeInvalid([*errors, f"Unknown system {system_ref!r}."])
    return system


def _symptoms(raw_symptoms: Any, system: System, errors: list[str]) -> tuple[list[Symptom], list[str]]:
    """The symptom rows the tree handles, and their titles in canonical (sorted) order."""
    if not isinstance(raw_symptoms, list):
        errors.append("symptoms must be a list of symptom titles.")
        return [], []
    symptoms: list[Symptom] = []
    refs: list[str] = []
    for raw in raw_symptoms:
        ref = one_line(raw)
        found = list(Symptom.objects.filter(system=system, title=ref).order_by("pk"))
        if not found:
            errors.append(f"Unknown symptom {ref!r}: no symptom of {system.name} has that title.")
        elif ref not in refs:
            refs.append(ref)
            symptoms.extend(found)
    return symptoms, sorted(refs)  # the canonical order, whatever order they were written in


# --- nodes ---------------------------------------------------------------------------------------------


def _nodes(raw_nodes: Any, scope: _Scope) -> tuple[list[ValidNode], list[dict[str, Any]], set[str]]:
    """The readable nodes, their canonical mappings, and every key seen (also of nodes with problems)."""
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise TreeInvalid([*scope.errors, "The tree needs a non-empty list of nodes."])
    if len(raw_nodes) > MAX_NODES:
        raise TreeInvalid([*scope.errors, f"A tree has at most {MAX_NODES} nodes; this one has {len(raw_nodes)}."])
    nodes: list[ValidNode] = []
    canonical_nodes: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_nodes, start=1):
        checked = _node(raw, index, seen, scope)
        if checked is not None:
            nodes.append(checked[0])
            canonical_nodes.append(checked[1])
    return nodes, canonical_nodes, seen


def _node(raw: Any, index: int, seen: set[str], scope: _Scope) -> tuple[ValidNode, dict[str, Any]] | None:
    """One node and its canonical mapping; None (with the problem noted) when it cannot be read at all."""
    errors = scope.errors
    if not isinstance(raw, dict):
        errors.append(f"Node {index} must be a mapping (key, kind, ...).")
        return None
    key = one_line(raw.get("key"))
    where = f"Node {key!r}" if key else f"Node {index}"
    if not key:
        errors.append(f"Node {index} needs a key.")
        return None
    if not KEY_RE.match(key):
        errors.append(f"{where}: a key is letters, digits, _ and - (at most 80, starting with a letter or digit).")
        return None
    if key in seen:
        errors.append(f"{where}: the key is used twice; keys must be unique in a tree.")
        return None
    seen.add(key)
    kind = one_line(raw.get("kind")).lower()
    if kind not in Kind.values:
        errors.append(f"{where}: unknown kind {kind!r}; use one of {', '.join(Kind.values)}.")
        return None
    allowed = {"key", "kind", "title", "prompt"} | KIND_KEYS[kind]
    stray = [k for k in raw if k not in allowed]
    if stray:
        errors.append(f"{where}: a {kind} node does not take {', '.join(map(str, stray))}.")
    node = ValidNode(key=key, kind=kind, title=one_line(raw.get("title")), prompt=clean_text(raw.get("prompt")))
    if len(node.title) > 200:
        errors.append(f"{where}: the title is longer than 200 characters.")
    if len(node.prompt) > MAX_PROMPT_CHARS:
        errors.append(f"{where}: the prompt is longer than {MAX_PROMPT_CHARS} characters.")
    canonical: dict[str, Any] = {"key": key, "kind": kind}
    if node.title:
        canonical["title"] = node.title
    if node.prompt:
        canonical["prompt"] = node.prompt
    _KIND_CHECKS[kind](node, raw, canonical, where, scope)
    return node, canonical


def _question(node: ValidNode, raw: dict, canonical: dict[str, Any], where: str, scope: _Scope) -> None:
    errors = scope.errors
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
        label, target = one_line(answer.get("label")), one_line(answer.get("next"))
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


def _check(node: ValidNode, raw: dict, canonical: dict[str, Any], where: str, scope: _Scope) -> None:
    errors = scope.errors
    ref = one_line(raw.get("check"))
    if not ref:
        errors.append(f"{where}: a check node needs a check (its slug).")
    else:
        node.check = Check.objects.filter(slug=ref).first() or Check.objects.filter(name=ref).order_by("pk").first()
        if node.check is None:
            errors.append(f"{where}: unknown check {ref!r}; no diagnostics check has that slug or name.")
    canonical["check"] = node.check.slug if node.check else ref
    node.target = one_line(raw.get("target"))
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
        name = one_line(state).upper()
        if name not in STATES:
            errors.append(f"{where}: branch {state!r} is not a check state ({', '.join(STATES)}).")
            continue
        if not one_line(target):
            errors.append(f"{where}: branch {name} does not say which node is next.")
            continue
        node.branches[name] = one_line(target)
    missing = [s for s in REQUIRED_BRANCHES if s not in node.branches]
    if branches and missing:
        errors.append(f"{where}: a check node needs at least the {' and '.join(missing)} branch"
                      f"{'es' if len(missing) > 1 else ''}.")
    node.branches = {s: node.branches[s] for s in STATES if s in node.branches}
    canonical["branches"] = dict(node.branches)


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


def _instruction(node: ValidNode, raw: dict, canonical: dict[str, Any], where: str, scope: _Scope) -> None:
    node.next = one_line(raw.get("next"))
    if not node.next:
        scope.errors.append(f"{where}: an instruction needs next (where to go once it is done).")
    canonical["next"] = node.next


def _solution(node: ValidNode, raw: dict, canonical: dict[str, Any], where: str, scope: _Scope) -> None:
    errors, system = scope.errors, scope.system
    article_ref, solution_ref = one_line(raw.get("article")), one_line(raw.get("solution"))
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
    node.next = one_line(raw.get("next"))
    if not node.next:
        errors.append(f"{where}: a solution needs next (where to go when it did not fix the problem).")
    canonical["next"] = node.next


def _link(node: ValidNode, raw: dict, canonical: dict[str, Any], where: str, scope: _Scope) -> None:
    ref = one_line(raw.get("tree"))
    if not ref:
        scope.errors.append(f"{where}: a link node needs tree (the slug of the tree to continue in).")
    else:
        system_slug, tree_slug = _split_ref(ref, scope.system)
        if system_slug == scope.system.slug and tree_slug == scope.slug:
            scope.errors.append(f"{where}: a tree cannot link to itself.")
        else:
            node.linked_tree = DecisionTree.objects.filter(system__slug=system_slug, slug=tree_slug).first()
            if node.linked_tree is None and f"{system_slug}/{tree_slug}" not in scope.extra_trees:
                scope.errors.append(f"{where}: unknown tree {ref!r}.")
        node.tree_ref = tree_slug if system_slug == scope.system.slug else f"{system_slug}/{tree_slug}"
    canonical["tree"] = node.tree_ref or ref


def _escalate(node: ValidNode, raw: dict, canonical: dict[str, Any], where: str, scope: _Scope) -> None:
    node.severity = one_line(raw.get("severity"))
    if node.severity:
        if len(node.severity) > 40 or node.severity != slugify(node.severity):
            scope.errors.append(f"{where}: severity must be a severity slug such as sev2.")
        canonical["severity"] = node.severity


_KIND_CHECKS: dict[str, Callable[[ValidNode, dict, dict[str, Any], str, _Scope], None]] = {
    Kind.QUESTION: _question,
    Kind.CHECK: _check,
    Kind.INSTRUCTION: _instruction,
    Kind.SOLUTION: _solution,
    Kind.LINK: _link,
    Kind.ESCALATE: _escalate,
}


def _split_ref(ref: str, system: System) -> tuple[str, str]:
    """``other-system/slug`` or ``slug`` (this system)."""
    if "/" in ref:
        system_slug, _, rest = ref.partition("/")
        return system_slug.strip(), rest.strip()
    return system.slug, ref


# --- the graph -----------------------------------------------------------------------------------------


def _entry_and_edges(document: dict[str, Any], nodes: list[ValidNode], keys: set[str], errors: list[str]) -> str:
    """The entry node's key; notes a missing entry, dangling answers, and (if all else is fine) graph problems.

    ``keys`` holds every key written, so a node that exists but had errors of its own is not reported twice.
    """
    entry = one_line(document.get("entry")) or (nodes[0].key if nodes else "")
    if entry and entry not in keys:
        errors.append(f"The entry node {entry!r} does not exist.")
    for node in nodes:
        for target in node.edges():
            if target and target not in keys:
                errors.append(f"Node {node.key!r} points at {target!r}, which is not a node of this tree.")
    if not errors and entry in {node.key for node in nodes}:
        errors.extend(_graph_problems(nodes, entry))
    return entry


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
