"""PostgreSQL stopped under a running gunicorn: a clear 503 with Retry-After, nothing about the database's
address, and service again as soon as it is back."""

import time

import httpx
import pytest

pytestmark = [pytest.mark.faults, pytest.mark.integration]


def test_database_outage_is_a_503_and_heals_when_it_returns(web, postgres_cluster):
    port = str(postgres_cluster.port)
    with httpx.Client(base_url=web.url, timeout=20) as client:
        assert client.get("/api/v1/systems/").status_code == 200
        postgres_cluster.stop()
        try:
            api = client.get("/api/v1/systems/")
            page = client.get("/")
            health = client.get("/health/")
        finally:
            postgres_cluster.start()

        assert api.status_code == 503
        assert int(api.headers["Retry-After"]) > 0
        assert api.json()["error"] == "service_unavailable"
        assert page.status_code == 503
        assert page.headers["Content-Type"].startswith("text/html")
        assert "try again" in page.text and "Traceback" not in page.text
        assert health.status_code == 503 and "database" in health.json()["failing"]
        for response in (api, page, health):
            assert port not in response.text and "postgres" not in response.text.lower()

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if client.get("/api/v1/systems/").status_code == 200:
                break
            time.sleep(0.2)
        assert client.get("/api/v1/systems/").status_code == 200
        assert client.get("/").status_code == 200
