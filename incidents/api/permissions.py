"""API access for incidents: the same rules as the web UI (see incidents.permissions)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from accounts.models import Scope
from accounts.permissions import key_allows_staff_write, request_api_key


def _key_allows(request: Request, permission: BasePermission) -> bool:
    key = request_api_key(request)
    needed = Scope.READ if request.method in SAFE_METHODS else Scope.WRITE
    if key is not None and not key.allows(needed):
        permission.message = f"This API key lacks the {needed} scope."
        return False
    return True


class SignedIn(BasePermission):
    """Incidents are never public: a signed-in user (or key) for everything, a write key to change things.

    Which incidents a user sees is decided by the queryset (others' incidents are 404, not 403).
    """

    message = "Sign in or send an API key to use incidents."

    def has_permission(self, request: Request, view: object) -> bool:
        return bool(request.user and request.user.is_authenticated) and _key_allows(request, self)


class SignedInStaffWrites(SignedIn):
    """Severities and escalation levels: anyone signed in reads them, only staff change them."""

    def has_permission(self, request: Request, view: object) -> bool:
        if not super().has_permission(request, view):
            return False
        if request.method in SAFE_METHODS:
            return True
        if not request.user.is_staff:
            self.message = "Only staff can change severities and escalation levels."
            return False
        return key_allows_staff_write(request, self)


class StaffOnly(SignedIn):
    """Webhook endpoints hold shared secrets: staff only, reads included."""

    def has_permission(self, request: Request, view: object) -> bool:
        if not super().has_permission(request, view):
            return False
        if not request.user.is_staff:
            self.message = "Only staff manage webhook endpoints."
            return False
        return request.method in SAFE_METHODS or key_allows_staff_write(request, self)


class StaffReadsEscalationLevels(StaffOnly):
    """Escalation levels carry pager and chat hook URLs: staff only, reads included."""

    def has_permission(self, request: Request, view: object) -> bool:
        allowed = super().has_permission(request, view)
        if not allowed and request.user.is_authenticated and not request.user.is_staff:
            self.message = "Only staff see and change escalation levels: they hold hook URLs."
        return allowed
