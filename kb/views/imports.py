"""Staff upload of Markdown guides (the same importer as `manage.py import_guide`)."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from common.htmx import render_page_or_fragment

from ..forms.importing import GuideImportForm
from ..importing import GuideRejected, ImportReport, guide_import, guide_parse_bytes, system_for_import


def _run_import(form: GuideImportForm, request: HttpRequest) -> tuple[list[ImportReport], list[str]]:
    """Check every file first, then import them all in one transaction (all or nothing)."""
    limit = settings.TRIAGE_IMPORT_MAX_BYTES
    uploads = []
    rejections = []
    for upload in form.cleaned_data["files"]:
        # Read one byte past the limit: enough to refuse an oversized file without loading it whole.
        data = upload.read(limit + 1)
        try:
            guide_parse_bytes(data=data, filename=upload.name)
        except GuideRejected as exc:
            rejections.append(f"{upload.name}: {exc}")
            continue
        uploads.append((upload.name, data))
    if rejections:
        return [], rejections

    dry_run, prune = form.cleaned_data["dry_run"], form.cleaned_data["prune"]
    try:
        with transaction.atomic():
            system = form.cleaned_data["system"] or system_for_import(
                name=form.cleaned_data["new_system"], create=not dry_run)
            reports = [guide_import(data=data, filename=name, system=system, author=request.user,
                                    dry_run=dry_run, prune=prune) for name, data in uploads]
    except GuideRejected as exc:
        return [], [str(exc)]
    return reports, []


@login_required
def import_guide(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied("Only staff can import guides.")
    reports: list[ImportReport] = []
    rejections: list[str] = []
    status = 200
    if request.method == "POST":
        form = GuideImportForm(request.POST, request.FILES)
        if form.is_valid():
            reports, rejections = _run_import(form, request)
            status = 400 if rejections else 200
        else:
            status = 400
    else:
        form = GuideImportForm()
    context = {"form": form, "reports": reports, "rejections": rejections,
               "max_megabytes": settings.TRIAGE_IMPORT_MAX_BYTES // (1024 * 1024)}
    return render_page_or_fragment(request, "kb/import_guide.html", "kb/partials/import_report.html", context,
                                   status=status)
