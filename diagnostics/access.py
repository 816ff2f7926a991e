"""Who may read check runs: their evidence holds internal response bodies, query rows and log lines."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse


def diagnostics_readable(request: HttpRequest) -> bool:
    """Signed-in users always; anonymous visitors only when ``TRIAGE_PUBLIC_DIAGNOSTICS`` is on."""
    return bool(getattr(settings, "TRIAGE_PUBLIC_DIAGNOSTICS", False)) or request.user.is_authenticated


def diagnostics_read_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page showing runs or evidence: anonymous visitors go to the login page unless diagnostics are public."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not diagnostics_readable(request):
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper
