"""Walking a tree: the walkthrough state machine (start, answer, checks that answer themselves, back, restart).

Every visited node is a ``WalkthroughStep`` numbered from 1, so each step has its own URL. Answering an
earlier step again drops the steps after it and continues from the new answer. A check node queues its
check when entered (after the transaction commits) and the step answers itself once the run is done,
unless the result is UNKNOWN (or has no branch), or the walker chose to answer themselves.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from diagnostics.models import Check, CheckRun, CheckState
from diagnostics.services import check_create, check_runs_queue
from diagnostics.targets import split_host_port

from .context import context_clean, context_host_allowed
from .exceptions import WalkthroughError
from .limits import CONTEXT_FIELDS, MAX_STEPS
from .models import DecisionTree, TreeNode, Walkthrough, WalkthroughStep
from .options import Option, option_for
from .selectors import tree_nodes, walkthrough_current

Kind = TreeNode.Kind
Outcome = Walkthrough.Outcome


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
    if host and not context_host_allowed(host):
        return check, f"{host} is not a host checks may reach, so the check ran as defined."
    # A log line may move the check to another port or path of the host it already watches, never to
    # another host: a tree would otherwise turn every matched line into a probe of a new host:port.
    own_host, new_host = _target_host(check.target), _target_host(target)
    if not own_host or own_host != new_host:
        return check, (f"{new_host or target} is not the host this check watches ({own_host or 'none'}), "
                       "so the check ran as defined.")
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


def _target_host(target: str) -> str:
    """The host a check target names (URL, host:port, [v6]:port or a bare host); "" when it names none."""
    if not target or target.startswith("env:"):
        return ""
    try:
        host, _port = split_host_port(target, 1)  # any default: only the host matters
    except ValueError:
        return ""
    return host.strip("[]").lower().rstrip(".")


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
        option = option_for(node, choice, nodes=nodes)
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
        option = option_for(node, state.lower(), nodes=nodes)
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
