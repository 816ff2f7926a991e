"""Decision-tree pages: the tree page (diagram, start), walkthrough steps, staff editing, YAML, analytics.

Every step of a walkthrough has its own URL (``.../walk/<id>/step/<n>/``): GET shows it (an answered
step shows its answer and lets the walker change it), POST answers it. htmx swaps the next step in and
pushes its URL, so Back, reload and shared links work; without JavaScript the POST redirects instead.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import quote, urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import HttpResponseClientRedirect, push_url

from common.htmx import render_page_or_fragment, vary_on_htmx, wants_fragment
from diagnostics.models import CheckState
from kb.models import System

from . import analytics, selectors, services, yaml_io
from . import walkthrough as walking
from .context import context_from_text
from .exceptions import TreeInvalid, WalkthroughError
from .forms import NodeForm, TreeUploadForm, WalkthroughStartForm
from .limits import ABANDON_AFTER, CONTEXT_FIELDS
from .mermaid import tree_mermaid
from .models import DecisionTree, TreeNode, Walkthrough
from .options import escalate_key, node_options

STEP_PARTIAL = "trees/partials/walkthrough_step.html"
MERMAID_JS = "vendor/mermaid/mermaid.min.js"
SETTLE_ROUNDS = 10  # checks that answer themselves in a row (each one's run is already done)


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous visitors are sent to log in; signed-in non-staff get a 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied("Only staff can change decision trees.")
        return view(request, *args, **kwargs)

    return wrapper


def _session_key(request: HttpRequest, *, create: bool = False) -> str | None:
    if create and not request.session.session_key:
        request.session.save()
    return request.session.session_key


def _tree_or_404(request: HttpRequest, system_slug: str, slug: str) -> DecisionTree:
    try:
        return selectors.tree_get(system_slug=system_slug, slug=slug, user=request.user)
    except DecisionTree.DoesNotExist as exc:
        raise Http404("No such decision tree.") from exc


def _walkthrough_or_404(request: HttpRequest, system_slug: str, slug: str, pk: int) -> Walkthrough:
    walkthrough = (Walkthrough.objects.select_related("tree__system", "tree__entry_node", "user")
                   .filter(pk=pk, tree__system__slug=system_slug, tree__slug=slug).first())
    if walkthrough is None or not selectors.walkthrough_can_view(walkthrough, user=request.user,
                                                            session_key=_session_key(request),
                                                            share=request.GET.get("share", "")[:100]):
        raise Http404("No such walkthrough.")
    return walkthrough


# --- trees ---------------------------------------------------------------------------------------------


@require_safe
def tree_list(request: HttpRequest) -> HttpResponse:
    system = request.GET.get("system", "").strip()
    items = list(selectors.tree_list(user=request.user, system=system or None))
    return render(request, "trees/tree_list.html", {
        "trees": items, "systems": System.objects.filter(decision_trees__isnull=False).distinct().order_by("name"),
        "system": system, "can_edit": request.user.is_staff,
    })


def _start_form(request: HttpRequest) -> WalkthroughStartForm:
    """Prefilled from ?line= (a matched log line, as the matcher links here), ?host=, ?port=, ?symptom=."""
    line = request.GET.get("line", "")[:2000]
    found = context_from_text(line) if line else {}
    initial = {
        "host": request.GET.get("host", "")[:253] or found.get("host", ""),
        "port": request.GET.get("port", "")[:5] or found.get("port", ""),
        "line": " ".join(line.split())[:500],
        "symptom": request.GET.get("symptom", "") if request.GET.get("symptom", "").isdigit() else "",
    }
    return WalkthroughStartForm(initial=initial)


def _mermaid_script() -> str | None:
    """The Mermaid library's URL once it is installed (npm) and collected; the page works without it."""
    return static(MERMAID_JS) if finders.find(MERMAID_JS) else None


def _tree_context(request: HttpRequest, tree: DecisionTree, *, form: WalkthroughStartForm | None = None) -> dict:
    nodes = selectors.tree_nodes(tree)
    ordered = selectors.tree_order(tree, nodes)
    outcomes = dict(Walkthrough.Outcome.choices)
    rows = [{"node": node, "edges": [
        {"label": option.label, "next_key": option.next_key,
         "next_label": nodes[option.next_key].label if option.next_key in nodes else option.next_key,
         "outcome_label": outcomes.get(option.outcome, "end")}
        for option in node_options(node, implicit=False)]} for node in ordered]
    return {
        "tree": tree, "system": tree.system, "rows": rows,
        "mermaid": tree_mermaid(tree, nodes), "mermaid_js": _mermaid_script(),
        "symptoms": list(tree.symptoms.order_by("title")),
        "start_form": form or _start_form(request),
        "resume": selectors.walkthrough_for_visitor(tree=tree, user=request.user, session_key=_session_key(request)),
        "can_edit": request.user.is_staff, "can_run_checks": request.user.is_authenticated,
        "entry_key": tree.entry_node.key if tree.entry_node_id else "",
        "escalate_label": nodes[key].label if (key := escalate_key(tree.entry_node, nodes)) else "",
    }


@require_safe
def tree_detail(request: HttpRequest, system_slug: str, slug: str) -> HttpResponse:
    tree = _tree_or_404(request, system_slug, slug)
    return render(request, "trees/tree_detail.html", _tree_context(request, tree))


@require_POST
def walkthrough_start(request: HttpRequest, system_slug: str, slug: str) -> HttpResponse:
    tree = _tree_or_404(request, system_slug, slug)
    form = WalkthroughStartForm(request.POST)
    if not form.is_valid():
        return render(request, "trees/tree_detail.html", _tree_context(request, tree, form=form), status=400)
    try:
        walkthrough = walking.walkthrough_start(tree=tree, user=request.user, context=form.context(),
                                              session_key=_session_key(request, create=True) or "")
    except WalkthroughError as exc:
        messages.error(request, str(exc))
        return redirect(tree.get_absolute_url())
    return redirect(walkthrough.step_url(1))


# --- walkthroughs --------------------------------------------------------------------------------------


def _settle(request: HttpRequest, walkthrough: Walkthrough) -> bool:
    """Let finished check runs answer their steps; True if the walkthrough moved on."""
    moved = False
    for _ in range(SETTLE_ROUNDS):
        if walking.walkthrough_check_settle(walkthrough=walkthrough, user=request.user) is None:
            break
        moved = True
    return moved


def _step_context(request: HttpRequest, walkthrough: Walkthrough, number: int, *, error: str = "",
                  notice: str = "") -> dict:
    steps = selectors.walkthrough_steps(walkthrough)
    step = steps[number - 1]
    nodes = selectors.tree_nodes(walkthrough.tree)
    node = nodes.get(step.node_key)
    is_last = number == len(steps)
    owner = selectors.walkthrough_is_owner(walkthrough, user=request.user, session_key=_session_key(request))
    run = step.check_run
    pending = bool(run and not run.is_done and not step.is_answered and is_last and step.auto_answer)
    asked = node is not None and node.kind == TreeNode.Kind.CHECK and not pending
    previous = steps[number - 2] if number > 1 else None
    notice_state = ""
    if not notice and previous is not None and previous.answered_by_check and not step.is_answered:
        said = f" ({previous.check_message})" if previous.check_message else ""
        notice = f"The check answered step {previous.order}: {previous.check_state.upper()}{said}."
        notice_state = (previous.check_state or "").lower()
    # A colleague reading a shared link keeps the share token from step to step.
    share = "" if owner else f"?share={selectors.walkthrough_share_token(walkthrough)}"
    breadcrumbs = [{"step": s, "url": walkthrough.step_url(s.order) + share, "current": s.order == number}
                   for s in steps]
    return {
        "walkthrough": walkthrough, "tree": walkthrough.tree, "system": walkthrough.tree.system,
        "step": step, "node": node, "steps": steps, "breadcrumbs": breadcrumbs, "number": number,
        "is_last": is_last, "is_owner": owner, "options": node_options(node, nodes=nodes) if node else [],
        "step_url": walkthrough.step_url(number),
        "share_url": selectors.walkthrough_share_url(walkthrough, walkthrough.step_url(number)) if owner else "",
        "next_url": walkthrough.step_url(number + 1) if number < len(steps) else None,
        "run": run, "pending": pending, "asked_to_check": asked,
        "check_unknown": bool(step.check_state == CheckState.UNKNOWN),
        "can_run_checks": owner and request.user.is_authenticated and node is not None
        and node.kind == TreeNode.Kind.CHECK and bool(node.check_def_id),
        "incident_url": selectors.walkthrough_incident_url(walkthrough)
        if walkthrough.outcome in (Walkthrough.Outcome.ESCALATED, Walkthrough.Outcome.NOT_COVERED)
        or (node and node.kind == TreeNode.Kind.ESCALATE) else None,
        "search_url": f"{reverse('kb:search')}?{urlencode({'q': _search_words(walkthrough)})}",
        "match_url": reverse("kb:match"),
        "child": walkthrough.children.order_by("-pk").first() if walkthrough.outcome == Walkthrough.Outcome.LINKED
        else None,
        "error": error, "notice": notice, "notice_state": notice_state,
        "context_values": [(name, walkthrough.context[name]) for name in CONTEXT_FIELDS
                           if (walkthrough.context or {}).get(name)],
    }


def _search_words(walkthrough: Walkthrough) -> str:
    """What "search the knowledge base" starts with when the tree did not help: the matched line, else the tree."""
    return (walkthrough.context or {}).get("line") or walkthrough.tree.title


def _step_response(request: HttpRequest, walkthrough: Walkthrough, number: int, *, status: int = 200,
                   push: bool = False, error: str = "") -> HttpResponse:
    context = _step_context(request, walkthrough, number, error=error)
    response = render_page_or_fragment(request, "trees/walkthrough.html", STEP_PARTIAL, context, status=status)
    if push and wants_fragment(request):
        push_url(response, walkthrough.step_url(number))
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def walkthrough_step(request: HttpRequest, system_slug: str, slug: str, pk: int, number: int) -> HttpResponse:
    walkthrough = _walkthrough_or_404(request, system_slug, slug, pk)
    if number < 1:
        raise Http404("No such step.")
    owner = selectors.walkthrough_is_owner(walkthrough, user=request.user, session_key=_session_key(request))
    if request.method == "POST":
        if not owner:
            raise PermissionDenied("Only the person walking this tree can answer it; start your own walkthrough.")
        return _answer(request, walkthrough, number)
    count = walkthrough.steps.count()
    if owner and number == count and _settle(request, walkthrough):
        # A check answered this step while the walker watched: show where it led.
        current = walkthrough.steps.count()
        if not wants_fragment(request):
            return redirect(walkthrough.step_url(current))
        return _step_response(request, walkthrough, current, push=True)
    if wants_fragment(request) and request.htmx.trigger == "walk-poll" and number == count and _still_running(walkthrough):
        return vary_on_htmx(HttpResponse(status=204))  # nothing new: htmx keeps the page and polls again
    if number > count:
        # An old link to a step that changing an earlier answer dropped: go to the current step.
        if not wants_fragment(request):
            return redirect(walkthrough.step_url(max(1, count)))
        return _step_response(request, walkthrough, max(1, count), push=True)
    return _step_response(request, walkthrough, number)


def _still_running(walkthrough: Walkthrough) -> bool:
    step = selectors.walkthrough_current(walkthrough)
    return bool(step and not step.is_answered and step.check_run and not step.check_run.is_done)


def _answer(request: HttpRequest, walkthrough: Walkthrough, number: int) -> HttpResponse:
    if number > walkthrough.steps.count():
        raise Http404("No such step.")
    choice = request.POST.get("choice", "").strip()[:200]
    try:
        result = walking.walkthrough_answer(walkthrough=walkthrough, step_number=number, choice=choice,
                                          user=request.user)
    except WalkthroughError as exc:
        return _step_response(request, walkthrough, number, status=400, error=str(exc))
    walkthrough = result.walkthrough
    if result.child is not None:
        target = result.child.step_url(1)
        return HttpResponseClientRedirect(target) if wants_fragment(request) else redirect(target)
    if walkthrough.outcome == Walkthrough.Outcome.ESCALATED:
        target = selectors.walkthrough_incident_url(walkthrough) or walkthrough.step_url(result.step.order)
        return HttpResponseClientRedirect(target) if wants_fragment(request) else redirect(target)
    _settle(request, walkthrough)
    target = walkthrough.steps.count() if walkthrough.outcome == Walkthrough.Outcome.IN_PROGRESS else result.step.order
    if not wants_fragment(request):
        return redirect(walkthrough.step_url(target))
    return _step_response(request, walkthrough, target, push=True)


@require_safe
def walkthrough_resume(request: HttpRequest, system_slug: str, slug: str, pk: int) -> HttpResponse:
    walkthrough = _walkthrough_or_404(request, system_slug, slug, pk)
    share = request.GET.get("share", "")[:100]
    return redirect(walkthrough.step_url(max(1, walkthrough.steps.count())) + (f"?share={quote(share)}" if share else ""))


@require_POST
def walkthrough_restart(request: HttpRequest, system_slug: str, slug: str, pk: int) -> HttpResponse:
    walkthrough = _walkthrough_or_404(request, system_slug, slug, pk)
    if not selectors.walkthrough_is_owner(walkthrough, user=request.user, session_key=_session_key(request)):
        raise PermissionDenied("Only the person walking this tree can restart it.")
    try:
        fresh = walking.walkthrough_restart(walkthrough=walkthrough, user=request.user,
                                          session_key=_session_key(request, create=True) or "")
    except WalkthroughError as exc:
        messages.error(request, str(exc))
        return redirect(walkthrough.tree.get_absolute_url())
    target = fresh.step_url(1)
    return HttpResponseClientRedirect(target) if wants_fragment(request) else redirect(target)


@require_safe
def walkthrough_transcript(request: HttpRequest, system_slug: str, slug: str, pk: int) -> HttpResponse:
    walkthrough = _walkthrough_or_404(request, system_slug, slug, pk)
    text = selectors.walkthrough_transcript(walkthrough)
    if request.GET.get("format") == "text":
        response = HttpResponse(text, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="walkthrough-{walkthrough.pk}.txt"'
        return response
    return render(request, "trees/walkthrough_transcript.html", {
        "walkthrough": walkthrough, "tree": walkthrough.tree, "system": walkthrough.tree.system, "transcript": text,
        "steps": selectors.walkthrough_steps(walkthrough),
        "incident_url": selectors.walkthrough_incident_url(walkthrough),
    })


# --- staff: editing, YAML, analytics -------------------------------------------------------------------


@staff_required
@require_http_methods(["GET", "POST"])
def tree_node_edit(request: HttpRequest, system_slug: str, slug: str, key: str) -> HttpResponse:
    tree = _tree_or_404(request, system_slug, slug)
    node = tree.nodes.select_related("check_def", "article", "solution", "linked_tree__system").filter(key=key).first()
    if node is None:
        raise Http404("No such node.")
    form = NodeForm(request.POST or None, tree=tree, node=node)
    problems: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            result = services.tree_node_update(tree=tree, key=key, node=form.node_document(), author=request.user)
        except TreeInvalid as exc:
            problems = exc.errors
        else:
            if result.changed:
                messages.success(request, f"Saved node {key} as revision {result.tree.revision}.")
            else:
                messages.info(request, "Nothing changed.")
            return redirect(f"{tree.get_absolute_url()}#node-{key}")
    status = 400 if request.method == "POST" else 200
    return render(request, "trees/tree_node_form.html", {"tree": tree, "system": tree.system, "node": node,
                                                      "form": form, "problems": problems}, status=status)


@require_safe
def tree_yaml(request: HttpRequest, system_slug: str, slug: str) -> HttpResponse:
    tree = _tree_or_404(request, system_slug, slug)
    response = HttpResponse(yaml_io.tree_export_yaml(tree), content_type="application/yaml; charset=utf-8")
    if request.GET.get("inline") != "1":
        response["Content-Disposition"] = f'attachment; filename="{tree.system.slug}-{tree.slug}.yml"'
    return response


@staff_required
@require_http_methods(["GET", "POST"])
def tree_upload(request: HttpRequest, system_slug: str | None = None, slug: str | None = None) -> HttpResponse:
    """A new tree (system named in the YAML), or a new version of this one."""
    tree = _tree_or_404(request, system_slug, slug) if slug else None
    form = TreeUploadForm(request.POST or None, request.FILES or None)
    problems: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            result = services.tree_import_yaml(
                text=form.cleaned_data["yaml"], author=request.user, system=tree.system if tree else None,
                slug=tree.slug if tree else None, note=form.cleaned_data.get("note") or "Uploaded YAML",
            )
        except TreeInvalid as exc:
            problems = exc.errors
        else:
            if result.changed:
                verb = "Created" if result.created else "Updated"
                messages.success(request, f"{verb} “{result.tree.title}” (revision {result.tree.revision}).")
            else:
                messages.info(request, "The YAML matches the tree as it is; nothing changed.")
            return redirect(result.tree.get_absolute_url())
    status = 400 if request.method == "POST" else 200
    return render(request, "trees/tree_upload.html", {"tree": tree, "system": tree.system if tree else None,
                                                   "form": form, "problems": problems}, status=status)


@staff_required
@require_safe
def tree_analytics(request: HttpRequest, system_slug: str, slug: str) -> HttpResponse:
    tree = _tree_or_404(request, system_slug, slug)
    return render(request, "trees/tree_analytics.html", {"tree": tree, "system": tree.system,
                                                      "stats": analytics.tree_analytics(tree),
                                                      "abandon_hours": int(ABANDON_AFTER.total_seconds() // 3600)})


@staff_required
@require_safe
def tree_history(request: HttpRequest, system_slug: str, slug: str) -> HttpResponse:
    tree = _tree_or_404(request, system_slug, slug)
    return render(request, "trees/tree_history.html", {"tree": tree, "system": tree.system,
                                                    "revisions": list(selectors.tree_revisions(tree)[:50])})
