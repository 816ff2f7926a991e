"""The "Paste your error" box, the /match/ page (htmx fragment or full page) and unknown errors -> symptoms."""

import gzip
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kb import matching
from kb.models import Signature, Symptom
from tests.factories import ArticleFactory, SignatureFactory, SymptomFactory, SystemFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
UNKNOWN_LINE = "2025-06-01 10:00:01 ERROR [billing] ledger batch 42 rejected: checksum mismatch"


@pytest.fixture(autouse=True)
def _fresh_matcher():
    matching.matcher_reset()
    yield
    matching.matcher_reset()


@pytest.fixture
def locked():
    system = SystemFactory(name="Orchestrator", slug="orchestrator")
    symptom = SymptomFactory(system=system, title="SQLite is locked")
    SignatureFactory(symptom=symptom, text="sqlite3.OperationalError: database is locked")
    symptom.articles.add(ArticleFactory(system=system, title="SQLite database is locked"))
    return symptom


def templates_used(response) -> list[str]:
    return [template.name for template in response.templates]


def test_the_home_page_has_the_paste_box_posting_to_the_match_page(client):
    response = client.get(reverse("kb:home"))

    assert response.status_code == 200
    assert "kb/partials/paste_box.html" in templates_used(response)
    content = response.content.decode()
    assert 'id="paste-results"' in content and f'hx-post="{reverse("kb:match")}"' in content


def test_the_match_page_offers_a_textarea_and_a_file_upload(client):
    response = client.get(reverse("kb:match"))

    content = response.content.decode()
    assert response.status_code == 200
    assert 'name="text"' in content and 'type="file"' in content and 'enctype="multipart/form-data"' in content


def test_posting_without_htmx_renders_the_full_page_with_results(client, locked):
    response = client.post(reverse("kb:match"), {"text": "sqlite3.OperationalError: database is locked"})

    assert response.status_code == 200
    assert "kb/match.html" in templates_used(response)
    content = response.content.decode()
    assert "SQLite is locked" in content and "SQLite database is locked" in content
    assert '<span class="hit" data-line="1">' in content
    assert "<mark>sqlite3.OperationalError: database is locked</mark>" in content


def test_posting_with_htmx_returns_only_the_results_fragment(client, locked):
    response = client.post(reverse("kb:match"), {"text": "database busy\nsqlite3.OperationalError: database is locked"},
                           **HTMX)

    assert response.status_code == 200
    assert templates_used(response)[0] == "kb/partials/match_results.html"
    assert "<html" not in response.content.decode()
    assert "HX-Request" in response["Vary"]


def test_an_uploaded_log_file_is_matched(client, locked):
    upload = SimpleUploadedFile("app.log.gz", gzip.compress(b"boot\nsqlite3.OperationalError: database is locked\n"))
    response = client.post(reverse("kb:match"), {"file": upload}, **HTMX)

    assert "SQLite is locked" in response.content.decode()
    assert 'data-line="2"' in response.content.decode()


def test_an_empty_paste_is_a_400_page_and_a_422_fragment_htmx_will_show(client):
    page = client.post(reverse("kb:match"), {"text": "  "})
    fragment = client.post(reverse("kb:match"), {"text": ""}, **HTMX)

    assert page.status_code == 400 and "Paste an error or choose a log file first." in page.content.decode()
    assert fragment.status_code == 422 and "Paste an error or choose a log file first." in fragment.content.decode()


def test_a_history_restore_gets_the_whole_match_page(client):
    response = client.get(reverse("kb:match"), **HTMX, HTTP_HX_HISTORY_RESTORE_REQUEST="true")

    assert [t.name for t in response.templates][0] == "kb/match.html"
    assert "HX-Request" in response["Vary"]


def test_a_binary_upload_is_refused_with_a_message(client):
    upload = SimpleUploadedFile("photo.jpg", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8)
    response = client.post(reverse("kb:match"), {"file": upload})

    assert response.status_code == 400
    assert "binary" in response.content.decode()


def test_a_request_over_the_size_limit_is_refused_before_reading_it(client, settings):
    settings.TRIAGE_MATCH_MAX_BYTES = 100
    response = client.post(reverse("kb:match"), {"text": "x" * (1024 * 1024 + 500)})

    assert response.status_code == 413
    assert "too large" in response.content.decode().lower() or "more than" in response.content.decode()


def test_pasted_markup_is_escaped_in_the_results(client, locked):
    payload = '<script>alert(1)</script> sqlite3.OperationalError: database is locked <img src=x onerror=alert(2)>'
    response = client.post(reverse("kb:match"), {"text": payload + "\nERROR <b>bold</b> failure nobody knows"})

    content = response.content.decode()
    assert "<script>alert(1)</script>" not in content and "<img src=x" not in content and "<b>bold</b>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content


def test_staff_see_a_prefilled_make_it_a_symptom_link_for_unknown_errors(client, staff_user, locked):
    client.force_login(staff_user)
    response = client.post(reverse("kb:match"), {"text": f"sqlite3.OperationalError: database is locked\n{UNKNOWN_LINE}"})

    [row] = response.context["unknown_rows"]
    query = parse_qs(urlparse(row["link"]).query)
    assert query["line"] == ["ledger batch 42 rejected: checksum mismatch"]
    assert query["system"] == ["orchestrator"]  # guessed from the symptom that did match
    assert "Make it a symptom" in response.content.decode()


def test_other_users_see_unknown_errors_but_no_link(client, user):
    client.force_login(user)
    response = client.post(reverse("kb:match"), {"text": UNKNOWN_LINE})

    assert "Unknown errors" in response.content.decode()
    assert "Make it a symptom" not in response.content.decode()


def test_the_new_symptom_form_is_prefilled_from_the_query(client, staff_user):
    system = SystemFactory(name="Billing", slug="billing")
    client.force_login(staff_user)
    url = reverse("kb:unknown_symptom_new") + "?line=ledger+batch+42+rejected&title=Ledger+rejects&system=billing"

    response = client.get(url, **HTMX)

    assert templates_used(response)[0] == "kb/partials/match_unknown_form.html"
    form = response.context["form"]
    assert form.initial == {"line": "ledger batch 42 rejected", "title": "Ledger rejects", "system": system.pk}


def test_saving_the_form_creates_a_symptom_whose_signature_matches_next_time(client, staff_user):
    system = SystemFactory(name="Billing", slug="billing")
    client.force_login(staff_user)
    response = client.post(reverse("kb:unknown_symptom_new"), {
        "system": system.pk, "title": "Ledger rejects batches", "severity": "high",
        "line": "ledger batch 42 rejected: checksum mismatch",
    }, **HTMX)

    assert response.status_code == 200
    assert "kb/partials/match_unknown_created.html" in templates_used(response)
    symptom = Symptom.objects.get(title="Ledger rejects batches")
    assert symptom.signatures.get().kind == Signature.Kind.LITERAL
    again = client.post(reverse("kb:match"), {"text": UNKNOWN_LINE.replace("42", "77")}, **HTMX)
    assert "Ledger rejects batches" in again.content.decode()


def test_without_htmx_saving_redirects_to_the_match_page_with_a_message(client, staff_user):
    system = SystemFactory()
    client.force_login(staff_user)
    response = client.post(reverse("kb:unknown_symptom_new"), {
        "system": system.pk, "title": "Ledger rejects", "severity": "medium", "line": "ledger batch rejected twice",
    }, follow=True)

    assert response.redirect_chain == [(reverse("kb:match"), 302)]
    assert "will be recognised" in response.content.decode()


def test_a_too_generic_line_is_refused_in_the_form_and_nothing_is_created(client, staff_user):
    system = SystemFactory()
    client.force_login(staff_user)
    response = client.post(reverse("kb:unknown_symptom_new"), {
        "system": system.pk, "title": "Numbers", "severity": "medium", "line": "500 1234",
    })

    assert response.status_code == 400
    assert "Too generic" in response.content.decode()
    assert not Symptom.objects.exists()


def test_only_staff_may_create_symptoms(client, user):
    anonymous = client.get(reverse("kb:unknown_symptom_new"))
    client.force_login(user)
    signed_in = client.post(reverse("kb:unknown_symptom_new"), {"title": "x", "line": "y"})

    assert anonymous.status_code == 302 and reverse("login") in anonymous["Location"]
    assert signed_in.status_code == 403
    assert not Symptom.objects.exists()
