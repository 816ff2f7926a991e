"""Paste an error or upload a log, see the known symptoms it contains; staff turn unknown errors into symptoms."""

from collections import Counter
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from common.htmx import render_page_or_fragment, wants_fragment
from common.middleware import declared_length

from .. import hooks, matching, selectors
from ..forms.matching import MatchForm, UnknownSymptomForm
from ..matching.masking import strip_log_prefix
from ..matching.signatures import symptom_create_from_unknown
from ..models import System

# Room for the multipart envelope around an upload that is just under the limit.
ENVELOPE_BYTES = 1024 * 1024
# The paste goes into the incident's description up to this size (the prefill URL is cut further if needed).
PREFILL_PASTE_CHARS = 4000


def _unknown_rows(result: matching.MatchResult, *, with_links: bool) -> list[dict]:
    """Unknown error groups, each with a prefilled "new symptom" link for staff (the system is guessed
    from what else matched)."""
    systems = Counter(item.symptom.system.slug for item in result.matches)
    guess = systems.most_common(1)[0][0] if systems else ""
    base = reverse("kb:unknown_symptom_new")
    rows = []
    for group in result.unknown:
        link = None
        if with_links:
            query = {"line": group.suggestion, "title": _title_from(group.suggestion)}
            if guess:
                query["system"] = guess
            link = f"{base}?{urlencode(query)}"
        rows.append({"group": group, "link": link})
    return rows


def _first_event(result: matching.MatchResult) -> str:
    """The earliest error event of the input: a matched line or an unknown error's example."""
    events = [(item.lines[0].number, item.lines[0].text) for item in result.matches if item.lines]
    events += [(group.first_line, group.example) for group in result.unknown]
    return strip_log_prefix(min(events)[1]) if events else ""


def _incident_link(result: matching.MatchResult, text: str) -> str | None:
    """"File an incident with this": the incident form (through kb.hooks) prefilled with the first event
    as title, the matches and the paste as description, and the system."""
    lines = [f"- Known symptom: {item.symptom.title} ({', '.join(system.name for system in item.systems)})"
             for item in result.matches]
    lines += [f"- Likely related: {item.article.title} ({item.system.name})" for item in result.related]
    lines += [f"- Unknown error: {group.template}" for group in result.unknown[:5]]
    paste = text.strip()
    if len(paste) > PREFILL_PASTE_CHARS:
        paste = paste[:PREFILL_PASTE_CHARS].rstrip() + "\n…"
    parts = []
    if lines:
        parts.append("Matches:\n" + "\n".join(lines))
    if paste:
        parts.append("Pasted:\n" + paste)
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    system = result.system or (result.matches[0].symptom.system.slug if result.matches else "")
    return hooks.incident_prefill_url(hooks.IncidentPrefill(
        title=_title_from(_first_event(result) or first_line or "Error from the match page"),
        description="\n\n".join(parts), system=system,
    ))


def _title_from(line: str) -> str:
    title = " ".join(line.split())
    return title if len(title) <= 80 else title[:79].rstrip() + "…"


@require_http_methods(["GET", "POST"])
def match(request: HttpRequest) -> HttpResponse:
    context: dict = {"form": MatchForm(), "result": None, "error": None, "unknown_rows": [], "incident_url": None,
                     "can_create_symptom": selectors.is_staff(request.user)}
    status = 200
    if request.method == "POST":
        status = _match_post(request, context)
    return render_page_or_fragment(request, "kb/match.html", "kb/partials/match_results.html", context,
                                   status=status)


def _match_post(request: HttpRequest, context: dict) -> int:
    limit = matching.max_input_bytes()
    if declared_length(request) > limit + ENVELOPE_BYTES:
        # Refuse before Django reads (and spools) the body.
        context["error"] = f"That is more than {limit // (1024 * 1024)} MB; upload a smaller part of the log."
        return 413
    form = MatchForm(request.POST, request.FILES)
    context["form"] = form
    if not form.is_valid():
        context["error"] = " ".join(form.non_field_errors()) or "Check the form."
        return 400
    system = form.cleaned_data.get("system")
    slug = system.slug if system else None
    upload = form.cleaned_data.get("file")
    text = "" if upload else form.cleaned_data["text"]
    try:
        if upload:
            result = matching.symptom_match_stream(stream=upload, user=request.user, system=slug)
        else:
            result = matching.symptom_match_text(text=text, user=request.user, system=slug)
    except matching.MatchInputError as error:
        context["error"] = error.message
        return error.status
    context["result"] = result
    context["unknown_rows"] = _unknown_rows(result, with_links=context["can_create_symptom"])
    context["incident_url"] = _incident_link(result, text)
    context["system_name"] = (
        system.name if system else System.objects.filter(slug=result.system).values_list("name", flat=True).first()
    )
    return 200


@require_http_methods(["GET", "POST"])
def unknown_symptom_new(request: HttpRequest) -> HttpResponse:
    """Staff: a small form prefilled from an unknown error; saving creates the symptom and its signature."""
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}")
    if not request.user.is_staff:
        raise PermissionDenied("Only staff can add symptoms.")
    status = 200
    if request.method == "POST":
        form = UnknownSymptomForm(request.POST)
        if form.is_valid():
            try:
                symptom = symptom_create_from_unknown(
                    system=form.cleaned_data["system"], title=form.cleaned_data["title"],
                    line=form.cleaned_data["line"], severity=form.cleaned_data["severity"],
                )
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, problems)
            else:
                if wants_fragment(request):
                    return render_page_or_fragment(request, "kb/unknown_symptom_new.html",
                                                   "kb/partials/match_unknown_created.html", {"symptom": symptom})
                messages.success(request, f"Symptom “{symptom.title}” created: this error will be recognised "
                                          "from now on.")
                return redirect("kb:match")
        status = 400
    else:
        initial = {key: request.GET.get(key, "")[:2000] for key in ("line", "title")}
        system = System.objects.filter(slug=request.GET.get("system", "")).first()
        if system is None and System.objects.count() == 1:
            system = System.objects.first()
        if system is not None:
            initial["system"] = system.pk
        form = UnknownSymptomForm(initial=initial)
    return render_page_or_fragment(request, "kb/unknown_symptom_new.html", "kb/partials/match_unknown_form.html",
                                   {"form": form}, status=status)
