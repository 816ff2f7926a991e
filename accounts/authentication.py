import re

from django.contrib.auth.models import User
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from .models import KEY_PREFIX_LENGTH, ApiKey
from .services import api_key_touch

# tri_<8 hex>_<token_urlsafe>; checked before any query so junk never reaches the database
# (PostgreSQL rejects NUL bytes in parameters, for one).
KEY_SHAPE = re.compile(rf"tri_(?P<prefix>[0-9a-f]{{{KEY_PREFIX_LENGTH}}})_[A-Za-z0-9_-]{{16,128}}")


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer tri_<prefix>_<secret>`; the prefix finds the row, the hash proves it."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, secret = header.partition(" ")
        if keyword.lower() != self.keyword.lower():
            return None  # e.g. Basic: not ours, and session auth may still apply
        secret = secret.strip()
        match = KEY_SHAPE.fullmatch(secret)
        if match is None:
            raise exceptions.AuthenticationFailed("Malformed API key: expected 'Bearer tri_<prefix>_<secret>'.")
        key = ApiKey.objects.select_related("user").filter(prefix=match["prefix"]).first()
        if key is None or not key.matches(secret):
            raise exceptions.AuthenticationFailed("Invalid API key.")
        if key.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        if key.is_expired:
            raise exceptions.AuthenticationFailed("This API key has expired.")
        if not key.user.is_active:
            raise exceptions.AuthenticationFailed("The owner of this API key is inactive.")
        api_key_touch(key=key)
        return key.user, key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'
