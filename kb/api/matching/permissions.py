"""Who may match: matching reads the knowledge base and stores nothing."""

from typing import Any

from django.conf import settings
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.models import Scope
from accounts.permissions import request_api_key


class MatchAllowed(BasePermission):
    """Matching reads the knowledge base and stores nothing, so it is allowed wherever reading is."""

    message = "Sign in, or use an API key with the read scope."

    def has_permission(self, request: Request, view: Any) -> bool:
        key = request_api_key(request)
        if key is not None:
            return key.allows(Scope.READ)
        return settings.TRIAGE_PUBLIC_READ or request.user.is_authenticated
