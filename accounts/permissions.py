from django.conf import settings
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from .models import ApiKey, Scope


def request_api_key(request: Request) -> ApiKey | None:
    return request.auth if isinstance(request.auth, ApiKey) else None


class ReadPublicWriteScoped(BasePermission):
    """Reads: anyone when TRIAGE_PUBLIC_READ, else signed-in users. Writes: signed in, and a key needs `write`."""

    message = "You do not have permission to do this."

    def has_permission(self, request: Request, view) -> bool:
        key = request_api_key(request)
        if request.method in SAFE_METHODS:
            if key is not None:
                return key.allows(Scope.READ)
            return settings.TRIAGE_PUBLIC_READ or request.user.is_authenticated
        if not request.user.is_authenticated:
            return False
        return key is None or key.allows(Scope.WRITE)


class StaffWritesOnly(ReadPublicWriteScoped):
    """As above, and writes need a staff user (knowledge-base editing is staff only)."""

    def has_permission(self, request: Request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in SAFE_METHODS or request.user.is_staff


class AdminScope(BasePermission):
    """Staff user; an API key must carry the `admin` scope."""

    def has_permission(self, request: Request, view) -> bool:
        key = request_api_key(request)
        if not (request.user.is_authenticated and request.user.is_staff):
            return False
        return key is None or key.allows(Scope.ADMIN)
