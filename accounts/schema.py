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


# --- error responses and anonymous reads, added to every operation (SPECTACULAR_SETTINGS hook) -------------

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every API error has this shape (accounts.api).",
    "properties": {
        "status": {"type": "integer"},
        "error": {"type": "string", "description": "A short code, e.g. not_found, throttled."},
        "detail": {"type": "string", "description": "A sentence for people."},
        "fields": {"type": "object", "additionalProperties": True, "description": "Per-field messages (400)."},
        "retry_after": {"type": "integer", "description": "Seconds to wait (429, 503)."},
    },
    "required": ["status", "error", "detail"],
}
ERROR_DESCRIPTIONS = {
    "400": "Invalid input; `fields` says which.",
    "401": "No valid credentials: sign in or send `Authorization: Bearer <key>`.",
    "403": "Signed in, but not allowed (role or API key scope).",
    "404": "No such object, or not visible to you.",
    "413": "Request body over this operation's limit.",
    "429": "Too many requests from this address or user; see `Retry-After`.",
    "503": "The database is unreachable; see `Retry-After`.",
}
# Reads under these paths need a sign-in even when TRIAGE_PUBLIC_READ is on.
PRIVATE_READ_PREFIXES = ("/api/v1/incident", "/api/v1/api-keys/")
EVIDENCE_PREFIXES = ("/api/v1/check-runs/", "/api/v1/check-events/")


def _error_codes(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    codes = ["401", "403", "429", "503"]
    if method in ("post", "put", "patch") or operation.get("parameters"):
        codes.append("400")
    if method in ("post", "put", "patch"):
        codes.append("413")
    if "{" in path:
        codes.append("404")
    return codes


def _public_read(path: str, method: str) -> bool:
    from django.conf import settings

    if method not in ("get", "head") or not settings.TRIAGE_PUBLIC_READ:
        return False
    if path.startswith(EVIDENCE_PREFIXES):
        return settings.TRIAGE_PUBLIC_DIAGNOSTICS
    return not path.startswith(PRIVATE_READ_PREFIXES)


def document_errors_and_public_reads(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict:
    """Document the error answers every operation can give, and mark reads anyone may make as needing no
    credentials (an empty security requirement), so clients and fuzzers know what to expect."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("Error", ERROR_SCHEMA)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for code in _error_codes(path, method, operation):
                responses.setdefault(code, {
                    "description": ERROR_DESCRIPTIONS[code],
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                })
            security = operation.get("security")
            if _public_read(path, method) and security is not None and {} not in security:
                security.append({})
    return result
