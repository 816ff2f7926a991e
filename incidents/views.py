"""Incident pages: thin typed views that parse input, call a selector or service and render.

One URL serves a page and its fragment: htmx requests get the partial, others the full page that
includes the same partial (Vary: HX-Request). Every form works without JavaScript.
"""

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from common.htmx import render_page_or_fragment, vary_on_htmx, wants_fragment
from kb.models import System
from trees.selectors import walkthrough_escalation

from . import charts, integrations, selectors
from .filtersets import IncidentFilter
from .forms import (
    SUGGEST_FIELDS,
    ActionItemForm,
    AttachmentForm,
    CommentForm,
    IncidentForm,
    PeopleForm,
    ResolveForm,
    ReviewForm,
    TransitionForm,
)
from .models import ActionItem, Attachment, Incident, PostIncidentReview, TimelineEvent
from .permissions import can_cancel_incident, can_view_incident, can_work_incident, is_responder
from .services import reviews
from .services.attachments import Upload, attachment_add
from .services.checks import incident_verify
from .services.comments import incident_comment_add
from .services.escalation import incident_escalate
from .services.lifecycle import (
    TRANSITIONS,
    incident_acknowledge,
    incident_open,
    incident_people_set,
    incident_resolve,
    incident_transition,
    incident_update,
)
from .services.timeline import timeline_event_set_important

View = Callable[..., HttpResponse]
Status = Incident.Status


def _incident_or_404(request: HttpRequest, pk: int) -> Incident:
    try:
        return selectors.incident_get(pk=pk, user=request.user)
    except Incident.DoesNotExist as exc:
        raise Http404("No such incident, or it is not yours to see.") from exc


def responder_required(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not is_responder(request.user):
            raise PermissionDenied("Only responders and staff can do this.")
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def _service_errors(form: object, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)  # type: ignore[attr-defined]
    else:
        form.add_error(None, exc.messages)  # type: ignore[attr-defined]


def _redirect_to(request: HttpRequest, url: str) -> HttpResponse:
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


# --- list -------------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "HEAD"])
def incident_list(request: HttpRequest) -> HttpResponse:
    filterset = IncidentFilter(request.GET, queryset=selectors.incident_list(user=request.user))
    incidents = filterset.qs if filterset.is_valid() else selectors.incident_list(user=request.user).none()
    page = Paginator(incidents, 25).get_page(request.GET.get("page"))
    for incident in page:
        incident.sla = selectors.incident_sla(incident)
    query = request.GET.copy()
    query.pop("page", None)
    return render_page_or_fragment(request, "incidents/list.html", "incidents/partials/incident_rows.html", {
        "filter": filterset, "page_obj": page, "query": query.urlencode(), "is_responder": is_responder(request.user),
    })


# --- filing -----------------------------------------------------------------------------------

def _prefill(request: HttpRequest) -> dict:
    """The prefill hook: ?title=&system=<slug or id>&body=&severity=<slug>, or ?walkthrough=<id> (an
    escalated decision tree: its title, system, summary, suggested severity and transcript)."""
    params = {name: request.GET.get(name, "").strip() for name in ("title", "system", "body", "severity")}
    transcript = ""
    walkthrough_id = request.GET.get("walkthrough", "").strip()
    if walkthrough_id.isascii() and walkthrough_id.isdigit() and len(walkthrough_id) <= 18:
        escalation = walkthrough_escalation(walkthrough_id=int(walkthrough_id), user=request.user)
        if escalation is not None:
            params = {"title": escalation.title, "system": escalation.system_slug, "body": escalation.body,
                      "severity": escalation.severity}
            transcript = escalation.transcript
    initial: dict = {}
    if params["title"]:
        initial["title"] = params["title"][:200]
    if system_ref := params["system"]:
        lookup = {"pk": int(system_ref)} if system_ref.isdigit() else {"slug": system_ref}
        initial["system"] = System.objects.filter(**lookup).values_list("pk", flat=True).first()
    if params["body"]:
        initial["what_happened"] = params["body"][:50_000]
    if transcript:
        initial["transcript"] = transcript[:20_000]
        initial.setdefault("what_happened", "")
    if params["severity"]:
        from .models import Severity

        found = Severity.objects.filter(slug=params["severity"]).values_list("pk", flat=True).first()
        if found:
            initial["severity"] = found
    return initial


def _suggestions(data: dict) -> dict:
    """Known symptoms and articles for what the user has typed so far (matcher and search, or fallbacks)."""
    text = "\n".join(str(data.get(name) or "") for name in SUGGEST_FIELDS).strip()
    system_id = data.get("system")
    system_id = int(system_id) if str(system_id or "").isdigit() else None
    if len(text) < 8:
        return {"symptoms": [], "articles": [], "searched": False}
    # Search ANDs its words: try the title, then the opening words of the description, and keep the first hits.
    articles: list = []
    for query in (str(data.get("title") or ""), " ".join(str(data.get("what_happened") or "").split()[:8])):
        if query.strip() and not articles:
            articles = integrations.articles_search(query, system_id=system_id, limit=5)
    symptoms = integrations.symptoms_match_text(text[:1_000_000])
    # With a system chosen, its known symptoms are the fixes that apply; others are only counted.
    system_name = System.objects.filter(pk=system_id).values_list("name", flat=True).first() if system_id else None
    elsewhere = 0
    if system_name:
        elsewhere = sum(1 for hit in symptoms if hit.system != system_name)
        symptoms = [hit for hit in symptoms if hit.system == system_name]
    return {
        "symptoms": symptoms[:5],
        "articles": articles,
        "searched": True,
        "system_name": system_name,
        "elsewhere": elsewhere,
    }


def _form_page(request: HttpRequest, form: IncidentForm, *, suggestions: dict | None = None,
               status: int = 200) -> HttpResponse:
    return render(request, "incidents/form.html", {
        "form": form, "suggestions": suggestions or {"symptoms": [], "articles": [], "searched": False},
        "transcript": form["transcript"].value(),
    }, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def incident_new(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        initial = _prefill(request)
        form = IncidentForm(initial=initial)
        suggestions = _suggestions({**initial, "system": initial.get("system")}) if initial else None
        return _form_page(request, form, suggestions=suggestions)
    form = IncidentForm(request.POST, request.FILES)
    if request.POST.get("action") == "suggest":
        # The no-JavaScript "Check for known fixes" button: same page, input kept, suggestions shown.
        form.is_valid()
        return _form_page(request, IncidentForm(request.POST), suggestions=_suggestions(request.POST))
    if not form.is_valid():
        return _form_page(request, form, suggestions=_suggestions(request.POST), status=400)
    data = form.cleaned_data
    uploads = [Upload(name=f.name, file=f) for f in data["attachments"]]
    try:
        incident = incident_open(
            title=data["title"], system=data["system"], severity=data["severity"], reporter=request.user,
            what_happened=data["what_happened"], expected=data["expected"],
            steps_to_reproduce=data["steps_to_reproduce"], env_os=data["env_os"], env_runtime=data["env_runtime"],
            env_deployment=data["env_deployment"], env_app_version=data["env_app_version"],
            pasted_logs=data["pasted_logs"], transcript=data["transcript"], uploads=uploads,
        )
    except ValidationError as exc:
        _service_errors(form, exc)
        return _form_page(request, form, status=400)
    messages.success(request, f"Incident #{incident.pk} filed. Responders have been notified.")
    return redirect(incident.get_absolute_url())


@login_required
@require_POST
def incident_validate_field(request: HttpRequest) -> HttpResponse:
    """htmx: validate the whole posted form, answer with one field's markup (with its errors)."""
    form = IncidentForm(request.POST)
    name = request.POST.get("_field", "")
    if name not in form.fields or name == "attachments":
        name = ""
    form.is_valid()
    if not wants_fragment(request) or not name:
        return vary_on_htmx(_form_page(request, form, status=200 if not form.errors else 400))
    # 200 even when the field has errors: the swapped-in field shows them, and the form stays usable.
    return vary_on_htmx(render(request, "partials/form_field.html", {"field": form[name]}))


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def incident_suggest(request: HttpRequest) -> HttpResponse:
    """Matching symptoms and articles for the text typed so far; the full page is the form itself."""
    data = request.POST if request.method == "POST" else request.GET
    suggestions = _suggestions(data)
    if wants_fragment(request):
        return vary_on_htmx(render(request, "incidents/partials/suggestions.html", {"suggestions": suggestions}))
    return vary_on_htmx(_form_page(
        request, IncidentForm(initial={k: data.get(k) for k in ("title", "what_happened", "system")}),
        suggestions=suggestions))


# --- detail and actions -----------------------------------------------------------------------

def _timeline_context(incident: Incident) -> dict:
    events = list(selectors.incident_timeline(incident=incident))
    comment_ids = [e.data.get("comment_id") for e in events if e.kind == TimelineEvent.Kind.COMMENT]
    comments = {c.pk: c for c in incident.comments.filter(pk__in=[i for i in comment_ids if i])}
    for event in events:
        event.comment = comments.get(event.data.get("comment_id")) if event.kind == TimelineEvent.Kind.COMMENT else None
    processing = incident.attachments.filter(processed_at__isnull=True).exclude(kind="other").exists()
    return {"events": events, "processing": processing}


def _detail(request: HttpRequest, incident: Incident, *, resolve_form: ResolveForm | None = None,
            status: int = 200) -> HttpResponse:
    can_work = can_work_incident(request.user, incident)
    failing = selectors.incident_failing_checks(incident=incident)
    context = {
        "incident": incident,
        "can_work": can_work,
        "can_cancel": can_cancel_incident(request.user, incident),
        "transitions": sorted(TRANSITIONS[incident.status] - {Status.RESOLVED, Status.DUPLICATE,
                                                                         Status.CANCELLED}),
        "can_cancel_now": Status.CANCELLED in TRANSITIONS[incident.status],
        "can_resolve": Status.RESOLVED in TRANSITIONS[incident.status],
        "can_duplicate": Status.DUPLICATE in TRANSITIONS[incident.status],
        "failing_checks": failing,
        "comment_form": CommentForm(),
        "attachment_form": AttachmentForm(),
        "resolve_form": resolve_form or ResolveForm(incident=incident,
                                                    initial=selectors.incident_matched_fixes(incident=incident)),
        "next_action": selectors.incident_next_action(incident=incident),
        "verified": request.GET.get("verified") == "1",
        "people_form": PeopleForm(initial={
            "severity": incident.severity_id,
            "commander": incident.commander.username if incident.commander else None,
            "assignees": [u.username for u in incident.assignees.all()],
        }) if can_work else None,
        "escalations": incident.escalations.select_related("level").order_by("level__order"),
        "similar": selectors.incident_similar(incident=incident, user=request.user),
        "review": PostIncidentReview.objects.filter(incident=incident).first(),
        **_timeline_context(incident),
    }
    return render(request, "incidents/detail.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD"])
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _incident_or_404(request, pk))


@login_required
@require_http_methods(["GET", "HEAD"])
def incident_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _incident_or_404(request, pk)
    if not wants_fragment(request):
        return vary_on_htmx(redirect(incident.get_absolute_url() + "#timeline"))
    return vary_on_htmx(render(request, "incidents/partials/timeline.html",
                               {"incident": incident, "can_work": can_work_incident(request.user, incident),
                                **_timeline_context(incident)}))


@login_required
@require_POST
def incident_comment(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _incident_or_404(request, pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            incident_comment_add(incident=incident, author=request.user, body=form.cleaned_data["body"])
        except ValidationError as exc:
            _service_errors(form, exc)
    if not wants_fragment(request):
        if form.errors:
            messages.error(request, " ".join(form.errors.get("body", ["The comment could not be saved."])))
        return redirect(incident.get_absolute_url() + "#timeline")
    return vary_on_htmx(render(request, "incidents/partials/comment_response.html", {
        "incident": incident, "can_work": can_work_incident(request.user, incident),
        "comment_form": form if form.errors else CommentForm(), **_timeline_context(incident),
    }, status=422 if form.errors else 200))


@login_required
@require_POST
def incident_attach(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _incident_or_404(request, pk)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return _redirect_to(request, incident.get_absolute_url() + "#attachments")
    try:
        for upload in form.cleaned_data["attachments"]:
            attachment_add(incident=incident, upload=Upload(name=upload.name, file=upload), actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Attached; logs are matched against known symptoms.")
    return _redirect_to(request, incident.get_absolute_url() + "#attachments")


@login_required
@require_http_methods(["GET", "HEAD"])
def attachment_download(request: HttpRequest, pk: int, attachment_id: int) -> FileResponse:
    """The stored file, for whoever may see the incident; always a download, never rendered inline
    (an uploaded .html or .svg must not run in our origin)."""
    incident = _incident_or_404(request, pk)
    attachment = get_object_or_404(Attachment, pk=attachment_id, incident=incident)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The stored file is missing.") from exc
    response = FileResponse(handle, as_attachment=True, filename=attachment.name,
                            content_type="application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_POST
def incident_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Lifecycle buttons: acknowledge, transition, resolve, escalate, verify, people."""
    incident = _incident_or_404(request, pk)
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404("No such action.")
    return handler(request, incident)


def _acknowledge(request: HttpRequest, incident: Incident) -> HttpResponse:
    _require_work(request, incident)
    if incident_acknowledge(incident=incident, actor=request.user):
        messages.success(request, "Acknowledged: you are on it, and escalation has stopped.")
    else:
        messages.info(request, "Someone else already picked this up.")
    return _redirect_to(request, incident.get_absolute_url())


def _transition(request: HttpRequest, incident: Incident) -> HttpResponse:
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid status.")
        return _redirect_to(request, incident.get_absolute_url())
    to_status = form.cleaned_data["status"]
    if not (can_work_incident(request.user, incident)
            or (to_status == Status.CANCELLED and can_cancel_incident(request.user, incident))):
        raise PermissionDenied("Only responders and staff can change the status.")
    duplicate_of = None
    if to_status == Status.DUPLICATE and form.cleaned_data["duplicate_of"]:
        duplicate_of = selectors.incident_list(user=request.user).filter(pk=form.cleaned_data["duplicate_of"]).first()
    try:
        changed = incident_transition(incident=incident, to_status=to_status, actor=request.user,
                                      note=form.cleaned_data["note"], duplicate_of=duplicate_of)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if changed:
            messages.success(request, f"Status is now {Status(to_status).label}.")
        else:
            messages.info(request, "Someone else changed the status first; here is the current state.")
    return _redirect_to(request, incident.get_absolute_url())


def _resolve(request: HttpRequest, incident: Incident) -> HttpResponse:
    _require_work(request, incident)
    form = ResolveForm(request.POST, incident=incident)
    if form.is_valid():
        try:
            changed = incident_resolve(incident=incident, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, "Resolved." if changed else "It was already resolved.")
            return _redirect_to(request, incident.get_absolute_url())
    if wants_fragment(request):
        return vary_on_htmx(render(request, "incidents/partials/resolve_form.html",
                                   {"incident": incident, "resolve_form": form,
                                    "failing_checks": selectors.incident_failing_checks(incident=incident)},
                                   status=422))
    return _detail(request, incident, resolve_form=form, status=400)


def _escalate(request: HttpRequest, incident: Incident) -> HttpResponse:
    _require_work(request, incident)
    try:
        record = incident_escalate(incident=incident, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if record is None:
            messages.info(request, "Every escalation level has already been notified.")
        else:
            messages.success(request, f"Escalated to {record.level.name}.")
    return _redirect_to(request, incident.get_absolute_url())


def _verify(request: HttpRequest, incident: Incident) -> HttpResponse:
    _require_work(request, incident)
    outcomes = incident_verify(incident=incident, actor=request.user)
    if not outcomes:
        messages.info(request, "No checks are failing; nothing to re-run.")
    else:
        still = [o.name for o in outcomes if not o.passing]
        if still:
            messages.error(request, f"Still failing: {', '.join(still)}.")
        else:
            messages.success(request, f"Verified: {len(outcomes)} check(s) pass now.")
    # Back to the buttons, where the page shows what the checks say now (not down in the timeline).
    return _redirect_to(request, incident.get_absolute_url() + "?verified=1#actions")


def _people(request: HttpRequest, incident: Incident) -> HttpResponse:
    _require_work(request, incident)
    form = PeopleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose people from the list.")
        return _redirect_to(request, incident.get_absolute_url())
    incident_update(incident=incident, actor=request.user, severity=form.cleaned_data["severity"],
                             commander=form.cleaned_data["commander"])
    incident_people_set(incident=incident, actor=request.user, assignees=form.cleaned_data["assignees"])
    messages.success(request, "Saved.")
    return _redirect_to(request, incident.get_absolute_url())


def _require_work(request: HttpRequest, incident: Incident) -> None:
    if not can_work_incident(request.user, incident):
        raise PermissionDenied("Only responders and staff can do this.")


ACTIONS: dict[str, Callable[[HttpRequest, Incident], HttpResponse]] = {
    "acknowledge": _acknowledge, "transition": _transition, "resolve": _resolve, "escalate": _escalate,
    "verify": _verify, "people": _people,
}


@responder_required
@require_POST
def timeline_event_important(request: HttpRequest, pk: int, event_id: int) -> HttpResponse:
    incident = _incident_or_404(request, pk)
    event = get_object_or_404(TimelineEvent, pk=event_id, incident=incident)
    timeline_event_set_important(event=event, important=request.POST.get("important") == "1")
    if not wants_fragment(request):
        return redirect(incident.get_absolute_url() + f"#event-{event.pk}")
    event.comment = incident.comments.filter(pk=event.data.get("comment_id")).first() if event.data else None
    return vary_on_htmx(render(request, "incidents/partials/timeline_event.html",
                               {"event": event, "incident": incident, "can_work": True}))


# --- review and action items ---------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def incident_review(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _incident_or_404(request, pk)
    review = PostIncidentReview.objects.filter(incident=incident).first()
    can_work = can_work_incident(request.user, incident)
    if request.method == "POST":
        if not can_work:
            raise PermissionDenied("Only responders and staff write reviews.")
        form = ReviewForm(request.POST)
        if form.is_valid():
            reviews.review_save(incident=incident, author=request.user, **form.cleaned_data)
            messages.success(request, "Review saved.")
            return redirect(reverse("incidents:review", kwargs={"pk": incident.pk}))
    elif review is not None:
        form = ReviewForm(initial={f: getattr(review, f) for f in ReviewForm.base_fields})
    else:
        form = ReviewForm(initial=reviews.review_draft(incident=incident))
    items = review.action_items.select_related("owner") if review else []
    return render(request, "incidents/review.html", {
        "incident": incident, "review": review, "form": form, "can_work": can_work, "items": items,
        "item_form": ActionItemForm(),
    }, status=400 if form.errors else 200)


@responder_required
@require_POST
def action_item_add(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _incident_or_404(request, pk)
    review = PostIncidentReview.objects.filter(incident=incident).first()
    if review is None:
        review = reviews.review_save(incident=incident, author=request.user, summary="", root_cause="",
                                     contributing_factors="")
    form = ActionItemForm(request.POST)
    if form.is_valid():
        reviews.action_item_add(review=review, **form.cleaned_data)
        messages.success(request, "Action item added.")
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return _redirect_to(request, reverse("incidents:review", kwargs={"pk": incident.pk}) + "#action-items")


@login_required
@require_POST
def action_item_toggle(request: HttpRequest, item_id: int) -> HttpResponse:
    item = get_object_or_404(ActionItem.objects.select_related("review__incident"), pk=item_id)
    incident = item.review.incident
    if not can_view_incident(request.user, incident):
        raise Http404("No such action item.")
    if not (can_work_incident(request.user, incident) or item.owner_id == request.user.pk):
        raise PermissionDenied("Only responders and the owner can tick this off.")
    reviews.action_item_set_done(item=item, done=request.POST.get("done") == "1")
    if wants_fragment(request):
        return vary_on_htmx(render(request, "incidents/partials/action_item_row.html",
                                   {"item": item, "show_incident": request.POST.get("show_incident") == "1",
                                    "can_toggle": True}))
    return redirect(request.POST.get("next") if request.POST.get("next", "").startswith("/incidents/")
                    else reverse("incidents:action_items"))


@login_required
@require_http_methods(["GET", "HEAD"])
def action_item_list(request: HttpRequest) -> HttpResponse:
    show = request.GET.get("show", "open")
    done = {"open": False, "done": True}.get(show)
    items = selectors.action_item_list(user=request.user, done=done)
    if request.GET.get("mine") == "1":
        items = items.filter(owner=request.user)
    page = Paginator(items, 50).get_page(request.GET.get("page"))
    return render(request, "incidents/action_items.html", {
        "page_obj": page, "show": show, "mine": request.GET.get("mine") == "1",
        "show_choices": [("open", "Open"), ("done", "Done"), ("all", "All")],
        "is_responder": is_responder(request.user),
    })


# --- metrics ----------------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "HEAD"])
def incident_metrics(request: HttpRequest) -> HttpResponse:
    weeks = request.GET.get("weeks", "12")
    weeks = min(max(int(weeks), 2), 52) if weeks.isdigit() else 12
    metrics = selectors.incident_metrics(user=request.user, weeks=weeks)
    labels = [w.strftime("%d %b") for w in metrics.weeks]
    context = {
        "metrics": metrics, "weeks": weeks,
        "mtta_chart": charts.bar_chart(title="Mean time to acknowledge, by week filed", labels=labels,
                                       values=[s.mean_seconds for s in metrics.mtta_by_week],
                                       format_value=charts.duration_label,
                                       empty_text="No incident filed in this period has been acknowledged."),
        "mttr_chart": charts.bar_chart(title="Mean time to resolve, by week filed", labels=labels,
                                       values=[s.mean_seconds for s in metrics.mttr_by_week],
                                       format_value=charts.duration_label,
                                       empty_text="No incident filed in this period has been resolved."),
        "opened_chart": charts.bar_chart(title="Incidents filed per week", labels=labels,
                                         values=[float(v) for v in metrics.opened_by_week],
                                         format_value=lambda v: f"{v:.0f}"),
        "open_chart": charts.bar_chart(title="Open incidents by severity", labels=[n for n, _, _ in metrics.open_by_severity],
                                       values=[float(c) for _, _, c in metrics.open_by_severity],
                                       format_value=lambda v: f"{v:.0f}", width=360,
                                       empty_text="No open incidents."),
        "by_system": list(zip(metrics.mtta_by_system, metrics.mttr_by_system, strict=True)),
        "by_severity": list(zip(metrics.mtta_by_severity, metrics.mttr_by_severity, strict=True)),
        "open_rows": [(name, slug, count, reverse("incidents:list") + "?" + urlencode({"open": "true", "severity": slug}))
                      for name, slug, count in metrics.open_by_severity if count],
        "week_choices": [4, 12, 26, 52],
    }
    return render(request, "incidents/metrics.html", context)
