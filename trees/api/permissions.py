from __future__ import annotations

from typing import Any

from rest_framework.request import Request

from accounts.permissions import ReadPublicWriteScoped

from ..models import Walkthrough
from ..selectors import walkthrough_is_owner


class WalkthroughAccess(ReadPublicWriteScoped):
    """Signed in (a key needs read to look, write to answer); only the walker or staff may answer."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user.is_authenticated:
            return False
        return super().has_permission(request, view)

    def has_object_permission(self, request: Request, view: Any, obj: Walkthrough) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        self.message = "Only the person walking this tree (or staff) can answer it."
        return walkthrough_is_owner(obj, user=request.user, session_key=None)
