"""OpenAPI description of our Bearer API-key authentication (loaded from AccountsConfig.ready)."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "tri_<prefix>_<secret>",
            "description": "An API key from /api/v1/api-keys/ or `manage.py create_api_key`; "
            "scopes: read, write (implies read), admin (implies both).",
        }
