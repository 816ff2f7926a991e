"""Staff pages for alert sources."""

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from . import receive, selectors, services
from .formats import FormatError
from .forms import AlertSourceForm
from .models import AlertSource
from .samples import sample_body
from .urls_paths import events_v2_base_url, receive_url


@staff_member_required
@require_http_methods(["GET", "HEAD", "POST"])
def source_list(request: HttpRequest) -> HttpResponse:
    form = AlertSourceForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            source, key = services.alert_source_create(created_by=request.user, **data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            created = {"source": source, "key": key, "url": receive_url(source, key)}
            form = AlertSourceForm()
    sources = [{"source": s, "url": receive_url(s)} for s in selectors.alert_source_list()]
    status = 422 if form.errors else 200
    return render(request, "alerts/sources.html",
                  {"form": form, "sources": sources, "created": created,
                   "events_v2_base_url": events_v2_base_url()}, status=status)


@staff_member_required
@require_POST
def source_test(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(AlertSource.objects.select_related("system", "severity"), pk=pk)
    try:
        outcomes = receive.accept(source, sample_body(source))
    except (FormatError, ValidationError) as exc:
        messages.error(request, f"The test alert was refused: {exc}")
    else:
        outcome = outcomes[0]
        messages.success(request, f"Test alert {outcome.outcome}: incident #{outcome.incident_id}.")
    return redirect("alerts:sources")
