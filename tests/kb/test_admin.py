import pytest

from kb import matching
from kb.models import Article, Signature, Symptom

from ..factories import ArticleFactory, SignatureFactory, SymptomFactory, SystemFactory

pytestmark = pytest.mark.django_db


def inline_management(prefix: str, total: int = 0, initial: int = 0) -> dict:
    return {f"{prefix}-TOTAL_FORMS": total, f"{prefix}-INITIAL_FORMS": initial,
            f"{prefix}-MIN_NUM_FORMS": 0, f"{prefix}-MAX_NUM_FORMS": 1000}


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    return client


def test_article_edited_in_admin_gets_a_revision_and_fresh_html(admin_client):
    article = ArticleFactory(body="old body")
    data = {"system": article.system.pk, "title": article.title, "summary": "", "heading_path": "",
            "status": "published", "body": "## New\n\n<script>x()</script>**bold**",
            **inline_management("revisions", 0, 0)}
    response = admin_client.post(f"/admin/kb/article/{article.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    article.refresh_from_db()
    assert "<strong>bold</strong>" in article.body_html and "<script>" not in article.body_html
    assert article.revisions.get().note == "Edited in admin"


def test_article_created_in_admin_goes_through_the_service(admin_client):
    system = SystemFactory()
    data = {"system": system.pk, "title": "Made in admin", "summary": "", "heading_path": "", "status": "published",
            "body": "text", **inline_management("revisions")}
    assert admin_client.post("/admin/kb/article/add/", data).status_code == 302
    article = Article.objects.get(title="Made in admin")
    assert article.slug == "made-in-admin" and article.revisions.get().note == "Created in admin"


def symptom_form(symptom: Symptom, signature_text: str, kind: str = "pattern") -> dict:
    return {"system": symptom.system.pk, "title": symptom.title, "description": "", "severity": "medium",
            **inline_management("signatures", 1, 0), "signatures-0-kind": kind, "signatures-0-text": signature_text,
            "signatures-0-positive_examples": "[]", "signatures-0-negative_examples": "[]"}


def test_signature_pattern_rejected_by_re2_is_a_form_error_in_admin(admin_client):
    symptom = SymptomFactory()
    response = admin_client.post(f"/admin/kb/symptom/{symptom.pk}/change/", symptom_form(symptom, "(unclosed"))
    assert response.status_code == 200
    assert not Signature.objects.exists()


def test_signature_text_edited_in_place_in_admin_refreshes_the_matcher(
    admin_client, django_capture_on_commit_callbacks
):
    signature = SignatureFactory(kind="literal", text="Error 111 connecting to localhost:6379")
    symptom = signature.symptom
    Symptom.objects.filter(pk=symptom.pk).update(updated_at=symptom.updated_at.replace(year=2020))
    before = matching.knowledge_version()
    form = symptom_form(symptom, "ECONNREFUSED 127.0.0.1:5432", kind="literal")
    form.update({"signatures-INITIAL_FORMS": 1, "signatures-0-id": signature.pk, "signatures-0-symptom": symptom.pk})
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(f"/admin/kb/symptom/{symptom.pk}/change/", form).status_code == 302
    assert Signature.objects.get().text == "ECONNREFUSED 127.0.0.1:5432"
    assert matching.knowledge_version() != before
