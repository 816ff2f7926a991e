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
                if not key.allows(Scope.READ):
                    self.message = "This API key lacks the read scope."
                    return False
                return True
            return settings.TRIAGE_PUBLIC_READ or request.user.is_authenticated
        if not request.user.is_authenticated:
            return False
        if key is not None and not key.allows(Scope.WRITE):
            self.message = "This API key lacks the write scope."
            return False
        return True


def key_allows_staff_write(request: Request, permission: BasePermission) -> bool:
    """A staff-only write made with an API key needs the key's `admin` scope (a browser session does not).

    So a leaked `write` key of a staff member can file incidents, but not rewrite the knowledge base,
    checks, severities or webhooks.
    """
    key = request_api_key(request)
    if key is not None and not key.allows(Scope.ADMIN):
        permission.message = "Staff-only changes through an API key need the admin scope."
        return False
    return True


class StaffWritesOnly(ReadPublicWriteScoped):
    """As above, and writes need a staff user (knowledge-base editing is staff only) and, with a key,
    the `admin` scope."""

    def has_permission(self, request: Request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if request.method in SAFE_METHODS:
            return True
        if not request.user.is_staff:
            self.message = "Only staff can change the knowledge base."
            return False
        return key_allows_staff_write(request, self)


class AdminScope(BasePermission):
    """Staff user; an API key must carry the `admin` scope."""

    message = "This needs a staff user, and an API key with the admin scope."

    def has_permission(self, request: Request, view) -> bool:
        key = request_api_key(request)
        if not (request.user.is_authenticated and request.user.is_staff):
            return False
        return key is None or key.allows(Scope.ADMIN)


class ManagesOwnKeys(BasePermission):
    """Signed-in users manage their own keys; a key may do so only with the `admin` scope,
    so a leaked read or write key cannot mint fresh, longer-lived keys."""

    message = "Managing API keys needs a browser session or an API key with the admin scope."

    def has_permission(self, request: Request, view) -> bool:
        if not request.user.is_authenticated:
            return False
        key = request_api_key(request)
        return key is None or key.allows(Scope.ADMIN)


class EvidenceRead(ReadPublicWriteScoped):
    """Check runs and state changes carry evidence from inside the network: readers must be signed in,
    unless TRIAGE_PUBLIC_DIAGNOSTICS is on."""

    def has_permission(self, request: Request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if settings.TRIAGE_PUBLIC_DIAGNOSTICS or request.user.is_authenticated:
            return True
        self.message = "Check runs and their evidence need a sign-in."
        return False
