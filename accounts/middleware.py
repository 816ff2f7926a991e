from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

# Paths that never need a login: the API does its own auth, health is for load balancers.
OPEN_PREFIXES = ("/accounts/", "/health/", "/static/", "/api/", "/admin/")


class PublicReadMiddleware:
    """With TRIAGE_PUBLIC_READ off, every HTML page requires a signed-in user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            not settings.TRIAGE_PUBLIC_READ
            and not request.user.is_authenticated
            and not request.path.startswith(OPEN_PREFIXES)
        ):
            return redirect_to_login(request.get_full_path())
        return self.get_response(request)
