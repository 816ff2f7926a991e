"""Reads of decision trees and walkthroughs: who may see what, lookups for other pages, transcripts.

Other apps read trees through here: kb's pages through the providers registered in trees/hooks_kb.py,
incidents through ``walkthrough_escalation`` (the incident form opened from an escalated walkthrough).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.db.models import QuerySet
from django.utils.crypto import constant_time_compare

from .hooks import escalation_url
from .limits import CONTEXT_FIELDS
from .models import DecisionTree, TreeNode, TreeRevision, Walkthrough, WalkthroughStep
from .options import node_options

Outcome = Walkthrough.Outcome


# --- trees ---------------------------------------------------------------------------------------------


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
        for option in node_options(node, implicit=False):
            if option.next_key and option.next_key in nodes and option.next_key not in seen:
                seen.add(option.next_key)
                queue.append(option.next_key)
    ordered.extend(sorted((n for k, n in nodes.items() if k not in seen), key=lambda n: n.position))
    return ordered


def tree_revisions(tree: DecisionTree) -> QuerySet[TreeRevision]:
    return tree.revisions.select_related("author").order_by("-number")


# --- walkthroughs --------------------------------------------------------------------------------------


def walkthrough_list(*, user: Any, tree: DecisionTree | None = None) -> QuerySet[Walkthrough]:
    walkthroughs = Walkthrough.objects.select_related("tree__system", "user").order_by("-started_at", "-pk")
    if not getattr(user, "is_staff", False):
        walkthroughs = walkthroughs.filter(user=user) if getattr(user, "is_authenticated", False) else \
            walkthroughs.none()
    if tree is not None:
        walkthroughs = walkthroughs.filter(tree=tree)
    return walkthroughs


def walkthrough_steps(walkthrough: Walkthrough) -> list[WalkthroughStep]:
    return list(walkthrough.steps.select_related("check_run__check_def").order_by("order"))


def walkthrough_current(walkthrough: Walkthrough) -> WalkthroughStep | None:
    return walkthrough.steps.select_related("check_run__check_def").order_by("-order").first()


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


_SHARE_SIGNER = signing.Signer(salt="trees.walkthrough.share")


def walkthrough_share_token(walkthrough: Walkthrough) -> str:
    """The secret part of a walkthrough's share link: ids are sequential, so the id alone proves nothing."""
    return _SHARE_SIGNER.signature(str(walkthrough.pk))


def walkthrough_share_url(walkthrough: Walkthrough, path: str | None = None) -> str:
    return f"{path or walkthrough.get_absolute_url()}?share={walkthrough_share_token(walkthrough)}"


def walkthrough_can_view(walkthrough: Walkthrough, *, user: Any, session_key: str | None, share: str = "") -> bool:
    """Owners (and staff); a signed-in colleague only with the share link; anonymous visitors only their own."""
    if walkthrough_is_owner(walkthrough, user=user, session_key=session_key):
        return True
    return bool(getattr(user, "is_authenticated", False)) and bool(share) and \
        constant_time_compare(share, walkthrough_share_token(walkthrough))


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
    lines.append(f"Walkthrough: {_absolute(walkthrough_share_url(walkthrough))}")
    return lines


def walkthrough_transcript(walkthrough: Walkthrough) -> str:
    """The walkthrough as plain text, for an incident timeline (incidents reads it through walkthrough_escalation)."""
    return "\n".join(walkthrough_transcript_lines(walkthrough))


def walkthrough_incident_url(walkthrough: Walkthrough) -> str | None:
    """Where escalating this walkthrough leads (the registered incident form), or None without one."""
    return escalation_url(walkthrough)


@dataclass(frozen=True)
class Escalation:
    """What an incident filed from a walkthrough starts with; severity is a slug the tree suggests ("" for none)."""

    walkthrough_id: int
    title: str
    system_slug: str
    body: str
    severity: str
    transcript: str


def walkthrough_escalation(*, walkthrough_id: int, user: Any, session_key: str | None = None) -> Escalation | None:
    """The prefill for an incident about this walkthrough; None if it does not exist or is not visible to ``user``."""
    walkthrough = (Walkthrough.objects.select_related("tree__system", "user", "parent")
                   .filter(pk=walkthrough_id).first())
    if walkthrough is None or not walkthrough_can_view(walkthrough, user=user, session_key=session_key):
        return None
    tree = walkthrough.tree
    last = walkthrough_current(walkthrough)
    node = tree_nodes(tree).get(last.node_key) if last else None
    return Escalation(
        walkthrough_id=walkthrough.pk,
        title=f"{tree.title}: not solved by the decision tree"[:200],
        system_slug=tree.system.slug,
        body=(f"Walked the decision tree “{tree.title}” for {tree.system.name}; it did not solve the problem "
              f"and ended at “{last.node_label if last else '?'}”. The transcript is attached."),
        severity=node.severity if node is not None else "",
        transcript=walkthrough_transcript(walkthrough),
    )
