from django.contrib.auth.models import User
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from .models import ApiKey
from .services import api_key_touch


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer tri_<prefix>_<secret>`; the prefix finds the row, the hash proves it."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, secret = header.partition(" ")
        if keyword.lower() != self.keyword.lower():
            return None
        secret = secret.strip()
        parts = secret.split("_")
        if len(parts) < 3 or parts[0] != "tri":
            raise exceptions.AuthenticationFailed("Malformed API key: expected 'Bearer tri_<prefix>_<secret>'.")
        key = ApiKey.objects.select_related("user").filter(prefix=parts[1]).first()
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
