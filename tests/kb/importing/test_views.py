"""The staff upload page at /import/."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kb.models import Article, System
from tests.factories import SystemFactory

GUIDE = (Path(__file__).parent.parent / "fixtures" / "guides" / "widgetd.md").read_bytes()
URL = "/import/"


def upload(name: str = "widgetd.md", data: bytes = GUIDE) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/markdown")


def test_url_is_named():
    assert reverse("kb:import_guide") == URL


@pytest.mark.django_db
def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get(URL)

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_non_staff_user_is_forbidden(client, user):
    client.force_login(user)

    assert client.get(URL).status_code == 403
    assert client.post(URL, {"files": upload(), "new_system": "X"}).status_code == 403
    assert not Article.objects.exists()


@pytest.mark.django_db
def test_staff_sees_the_upload_form(client, staff_user):
    client.force_login(staff_user)

    response = client.get(URL)

    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in response.content.decode()
    assert "HX-Request" in response["Vary"]


@pytest.mark.django_db
def test_staff_upload_into_existing_system_imports_and_shows_the_report(client, staff_user):
    system = SystemFactory(name="Widgetd", slug="widgetd")
    client.force_login(staff_user)

    response = client.post(URL, {"files": upload(), "system": system.pk})

    assert response.status_code == 200
    page = response.content.decode()
    assert "widgetd.md" in page and "6 created" in page and "Socket already bound" in page
    assert Article.objects.filter(system=system).count() == 6
    assert Article.objects.filter(author=staff_user).count() == 6


@pytest.mark.django_db
def test_staff_upload_with_a_new_system_name_creates_it(client, staff_user):
    client.force_login(staff_user)

    client.post(URL, {"files": [upload(), upload("scenarios.md", b"# S\n\n## Issue: Thing\n\n```\nError: x\n```\n")],
                      "new_system": "Gadget Service"})

    system = System.objects.get(slug="gadget-service")
    assert set(Article.objects.filter(system=system).values_list("source_file", flat=True)) == {
        "widgetd.md", "scenarios.md"}


@pytest.mark.django_db
def test_dry_run_upload_shows_changes_without_writing(client, staff_user):
    client.force_login(staff_user)

    response = client.post(URL, {"files": upload(), "new_system": "Gadget", "dry_run": "on"})

    assert response.status_code == 200
    assert "Would create" in response.content.decode()
    assert not System.objects.exists() and not Article.objects.exists()


@pytest.mark.django_db
def test_rejected_file_shows_the_reason_with_status_400_and_imports_nothing(client, staff_user):
    client.force_login(staff_user)

    response = client.post(URL, {"files": [upload(), upload("blob.md", b"\x00\x01binary")], "new_system": "Gadget"})

    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was imported" in page and "blob.md: guide looks binary" in page
    assert not System.objects.exists() and not Article.objects.exists()


@pytest.mark.django_db
def test_form_without_a_system_is_a_400_with_the_error(client, staff_user):
    client.force_login(staff_user)

    response = client.post(URL, {"files": upload()})

    assert response.status_code == 400
    assert "Choose the system" in response.content.decode()


@pytest.mark.django_db
def test_htmx_request_gets_only_the_report_fragment(client, staff_user):
    client.force_login(staff_user)

    response = client.post(URL, {"files": upload(), "new_system": "Gadget"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "kb/partials/import_report.html"
    assert "<html" not in response.content.decode()


@pytest.mark.django_db
def test_report_escapes_headings_from_the_guide(client, staff_user):
    client.force_login(staff_user)
    guide = b"# G\n\n## Issue: Evil &lt;img src=x onerror=alert(1)&gt;\n\n```\nError: evil\n```\n"

    response = client.post(URL, {"files": upload("evil.md", guide), "new_system": "Gadget"})

    assert response.status_code == 200
    assert "<img src=x" not in response.content.decode()


@pytest.mark.django_db
def test_htmx_upload_of_a_rejected_file_gets_the_report_fragment_with_422(client, staff_user):
    client.force_login(staff_user)

    response = client.post(URL, {"files": upload("blob.md", b"\x00binary"), "new_system": "Gadget"},
                           HTTP_HX_REQUEST="true")

    assert response.status_code == 422
    assert [t.name for t in response.templates][0] == "kb/partials/import_report.html"
    assert "blob.md: guide looks binary" in response.content.decode()
    assert "HX-Request" in response["Vary"]
    assert not System.objects.exists()


@pytest.mark.django_db
def test_boosted_upload_gets_the_whole_page(client, staff_user):
    client.force_login(staff_user)

    response = client.post(URL, {"files": upload(), "new_system": "Gadget"}, HTTP_HX_REQUEST="true",
                           HTTP_HX_BOOSTED="true")

    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "kb/import_guide.html"
