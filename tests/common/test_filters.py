"""Date-time filters hand the database UTC, so offsets PostgreSQL refuses never become a 500."""

import pytest

from tests.factories import ArticleFactory


@pytest.mark.django_db
def test_an_offset_postgresql_refuses_is_read_in_utc(api_client):
    ArticleFactory(status="published")
    response = api_client.get("/api/v1/articles/", {"updated_after": "2000-08-03T08:56:04+17:33"})
    assert response.status_code == 200
    assert response.json()["count"] == 1


@pytest.mark.django_db
def test_a_date_time_past_the_storable_years_is_a_400(api_client):
    response = api_client.get("/api/v1/articles/", {"updated_after": "9999-12-31T23:59:59-23:59"})
    assert response.status_code == 400
