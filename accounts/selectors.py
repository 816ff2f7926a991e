from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from .models import ApiKey


def api_key_list(*, user: AbstractBaseUser) -> QuerySet[ApiKey]:
    """A user's own keys, newest first, revoked ones included so the history stays visible."""
    return ApiKey.objects.filter(user=user).order_by("-created_at", "-pk")
