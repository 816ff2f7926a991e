"""The OpenAPI 3 schema covers every endpoint without warnings; the docs pages use only local assets."""

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db

KB_AND_KEY_OPERATIONS = {
    ("/api/v1/systems/", "get"), ("/api/v1/systems/{slug}/", "get"),
    ("/api/v1/articles/", "get"), ("/api/v1/articles/", "post"),
    ("/api/v1/articles/{id}/", "get"), ("/api/v1/articles/{id}/", "put"), ("/api/v1/articles/{id}/", "patch"),
    ("/api/v1/articles/{id}/vote/", "post"),
    ("/api/v1/revisions/", "get"), ("/api/v1/revisions/{id}/", "get"),
    ("/api/v1/symptoms/", "get"), ("/api/v1/symptoms/{id}/", "get"),
    ("/api/v1/solutions/", "get"), ("/api/v1/solutions/{id}/", "get"),
    ("/api/v1/api-keys/", "get"), ("/api/v1/api-keys/", "post"),
    ("/api/v1/api-keys/{prefix}/", "get"), ("/api/v1/api-keys/{prefix}/", "delete"),
}


@pytest.fixture(scope="module")
def schema() -> dict:
    # Generated once per module: building the schema touches no database, only the URL conf and views.
    response = Client().get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_schema_endpoint_serves_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)  # raises on any violation of the OpenAPI 3 JSON schema


def test_schema_lists_every_kb_and_api_key_operation(schema):
    operations = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert operations >= KB_AND_KEY_OPERATIONS


def test_schema_describes_bearer_keys_and_filters(schema):
    assert schema["components"]["securitySchemes"]["apiKey"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "tri_<prefix>_<secret>",
        "description": schema["components"]["securitySchemes"]["apiKey"]["description"],
    }
    params = {p["name"] for p in schema["paths"]["/api/v1/articles/"]["get"]["parameters"]}
    assert {"system", "tag", "status", "updated_after", "page", "page_size", "ordering"} <= params
    created = schema["paths"]["/api/v1/api-keys/"]["post"]["responses"]["201"]
    ref = created["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "key" in schema["components"]["schemas"][ref]["properties"]


def test_whole_schema_generates_without_warnings(tmp_path):
    # The same check as `manage.py spectacular --validate --fail-on-warn`, over every app's endpoints.
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert target.read_text().startswith("openapi: 3.")


def asset_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_load_only_local_static_assets(client, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assets = asset_urls(html)
    assert assets, "expected the page to load its scripts"
    scripts = ""
    for asset in assets:
        if asset.startswith(url + "?script"):
            # Swagger UI's set-up script is served by the page itself (no inline script under the CSP).
            script = client.get(asset)
            assert script.status_code == 200
            scripts += script.content.decode()
            continue
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), f"{asset} is not a packaged static file"
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    assert "/api/schema/" in html + scripts
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline scripts break the Content-Security-Policy"


def test_swagger_ui_bundle_is_a_real_file():
    found = finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert found and Path(found).stat().st_size > 100_000


def test_redoc_bundle_we_serve_fetches_nothing_from_a_cdn():
    bundle = finders.find("vendor/redoc/bundles/redoc.standalone.js")
    assert bundle, "make setup writes our copy of the Redoc bundle"
    text = Path(bundle).read_text(encoding="utf-8")
    assert len(text) > 100_000 and "cdn.redoc.ly" not in text


def test_operations_document_their_error_answers_and_public_reads_need_no_credentials(client):
    schema = client.get("/api/schema/?format=json").json()
    systems = schema["paths"]["/api/v1/systems/"]["get"]
    assert {"401", "403", "429"} <= set(systems["responses"])
    assert {} in systems["security"]
    article = schema["paths"]["/api/v1/articles/{id}/"]["get"]
    assert article["responses"]["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    filing = schema["paths"]["/api/v1/incidents/"]["post"]
    assert {"400", "401", "403", "413"} <= set(filing["responses"])
    assert {} not in schema["paths"]["/api/v1/incidents/"]["get"]["security"]
    assert {} not in schema["paths"]["/api/v1/check-runs/"]["get"]["security"]


@pytest.mark.parametrize("url", ["/api/schema/", "/api/docs/", "/api/redoc/"])
def test_schema_and_docs_need_a_login_when_public_read_is_off(client, settings, user, url):
    settings.TRIAGE_PUBLIC_READ = False
    assert client.get(url).status_code in (401, 403)
    client.force_login(user)
    assert client.get(url).status_code == 200
