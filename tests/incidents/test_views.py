"""The incident web UI: filing (with htmx per-field validation and no-JS fallbacks), list, detail, actions."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from incidents import selectors
from incidents.models import ActionItem, Incident, PostIncidentReview, Severity, TimelineEvent
from incidents.services.attachments import Upload, attachment_add
from incidents.services.lifecycle import incident_acknowledge, incident_resolve
from incidents.services.timeline import timeline_add
from tests.factories import SignatureFactory, SymptomFactory

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def templates(response) -> list[str]:
    return [t.name for t in response.templates]


@pytest.fixture
def locked(system):
    symptom = SymptomFactory(system=system, title="SQLite database is locked")
    SignatureFactory(symptom=symptom, text="database is locked")
    return symptom


def form_data(system, **extra):
    data = {"title": "Workers stopped picking up tasks", "system": system.pk,
            "severity": Severity.objects.get(slug="high").pk,
            "what_happened": "Every task stays queued; the log says database is locked.", "env_deployment": ""}
    data.update(extra)
    return data


@pytest.mark.parametrize("url_name", ["incidents:list", "incidents:new", "incidents:metrics", "incidents:action_items"])
def test_pages_need_a_login(client, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_form_is_prefilled_from_query_parameters(client, user, system):
    client.force_login(user)
    response = client.get(reverse("incidents:new"), {"title": "From a walkthrough", "system": system.slug,
                                                     "body": "Step 3 failed"})
    form = response.context["form"]
    assert form.initial["title"] == "From a walkthrough" and form.initial["system"] == system.pk
    assert form.initial["what_happened"] == "Step 3 failed"
    assert "transcript" not in form.initial


def test_form_takes_the_transcript_only_from_a_walkthrough_not_the_query(client, user, system):
    client.force_login(user)
    response = client.get(reverse("incidents:new"), {"title": "Forged", "transcript": "Q1: yes"})
    assert "transcript" not in response.context["form"].initial
    assert "A walkthrough transcript will be attached" not in response.content.decode()


@pytest.mark.parametrize("walkthrough", ["999999", "x", "99999999999999999999999", "٣"])
def test_an_unknown_or_malformed_walkthrough_leaves_the_form_empty(client, user, walkthrough):
    client.force_login(user)
    response = client.get(reverse("incidents:new"), {"walkthrough": walkthrough})
    initial = response.context["form"].initial
    assert response.status_code == 200 and not {"title", "system", "transcript"} & set(initial)


def test_invalid_filing_shows_field_errors_and_saves_nothing(client, user, system):
    client.force_login(user)
    response = client.post(reverse("incidents:new"), form_data(system, title="", what_happened="short"))
    assert response.status_code == 400
    assert "title" in response.context["form"].errors and "what_happened" in response.context["form"].errors
    assert Incident.objects.count() == 0


def test_valid_filing_with_attachment_redirects_to_the_incident(client, user, system, locked,
                                                                django_capture_on_commit_callbacks):
    client.force_login(user)
    log = SimpleUploadedFile("worker.log", b"12:00 ERROR database is locked\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("incidents:new"), {**form_data(system), "attachments": [log]})
    incident = Incident.objects.get()
    assert response.status_code == 302 and response.url == incident.get_absolute_url()
    assert incident.attachments.get().name == "worker.log"
    page = client.get(response.url).content.decode()
    assert "SQLite database is locked" in page and "worker.log" in page


def test_htmx_field_validation_returns_just_that_field_with_its_error(client, user, system):
    client.force_login(user)
    response = client.post(reverse("incidents:validate_field"), {**form_data(system, title="ab"), "_field": "title"},
                           **HX)
    assert templates(response)[0] == "partials/form_field.html"
    body = response.content.decode()
    assert 'id="field-title"' in body and "at least 5 characters" in body and "<html" not in body
    assert "HX-Request" in response["Vary"]
    ok = client.post(reverse("incidents:validate_field"), {**form_data(system), "_field": "title"}, **HX)
    assert "field-error" not in ok.content.decode()


def test_field_validation_without_htmx_renders_the_whole_form(client, user, system):
    client.force_login(user)
    response = client.post(reverse("incidents:validate_field"), {**form_data(system, title=""), "_field": "title"})
    assert templates(response)[0] == "incidents/form.html" and response.status_code == 400


def test_suggestions_show_matching_symptom_while_typing(client, user, system, locked):
    client.force_login(user)
    response = client.post(reverse("incidents:suggest"), {"what_happened": "ERROR: database is locked again",
                                                          "system": system.pk}, **HX)
    assert templates(response)[0] == "incidents/partials/suggestions.html"
    assert "SQLite database is locked" in response.content.decode()


def test_check_for_known_fixes_button_works_without_javascript(client, user, system, locked):
    client.force_login(user)
    response = client.post(reverse("incidents:new"), {**form_data(system), "action": "suggest"})
    assert response.status_code == 200 and Incident.objects.count() == 0
    body = response.content.decode()
    assert "SQLite database is locked" in body and "Workers stopped picking up tasks" in body


def test_list_shows_reporters_only_their_own(client, user, other_user, open_incident):
    mine = open_incident(title="Mine")
    open_incident(title="Theirs", reporter=other_user)
    client.force_login(user)
    response = client.get(reverse("incidents:list"))
    assert [i.pk for i in response.context["page_obj"]] == [mine.pk]


def test_list_filters_and_serves_rows_to_htmx(client, responder, open_incident, critical):
    open_incident(title="Calm")
    loud = open_incident(title="Loud", severity=critical)
    client.force_login(responder)
    response = client.get(reverse("incidents:list"), {"severity": "critical"}, **HX)
    assert templates(response)[0] == "incidents/partials/incident_rows.html"
    assert [i.pk for i in response.context["page_obj"]] == [loud.pk]
    assert "HX-Request" in response["Vary"]


def test_boosted_navigation_to_the_list_gets_the_whole_page(client, responder, open_incident):
    open_incident(title="Calm")
    client.force_login(responder)
    response = client.get(reverse("incidents:list"), **HX, HTTP_HX_BOOSTED="true")
    assert templates(response)[0] == "incidents/list.html"
    assert "HX-Request" in response["Vary"]


def test_boosted_link_to_the_timeline_fragment_goes_to_the_incident_page(client, user, open_incident):
    incident = open_incident()
    client.force_login(user)
    response = client.get(reverse("incidents:timeline", args=[incident.pk]), **HX, HTTP_HX_BOOSTED="true")
    assert response.status_code == 302 and response["Location"].endswith(f"/{incident.pk}/#timeline")


def test_other_users_get_404_on_someone_elses_incident(client, other_user, open_incident):
    incident = open_incident()
    client.force_login(other_user)
    assert client.get(incident.get_absolute_url()).status_code == 404


def test_responder_sees_lifecycle_buttons_and_reporter_does_not(client, user, responder, open_incident):
    incident = open_incident()
    client.force_login(user)
    assert ">Acknowledge<" not in client.get(incident.get_absolute_url()).content.decode()
    client.force_login(responder)
    assert ">Acknowledge<" in client.get(incident.get_absolute_url()).content.decode()


def test_acknowledge_button_is_for_responders(client, user, responder, open_incident):
    incident = open_incident()
    url = reverse("incidents:action", args=[incident.pk, "acknowledge"])
    client.force_login(user)
    assert client.post(url).status_code == 403
    client.force_login(responder)
    response = client.post(url)
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == Incident.Status.INVESTIGATING


def test_htmx_comment_returns_the_timeline_and_a_fresh_form(client, user, open_incident):
    incident = open_incident()
    client.force_login(user)
    response = client.post(reverse("incidents:comment", args=[incident.pk]),
                           {"body": "Restarted **twice** <script>x()</script>"}, **HX)
    body = response.content.decode()
    assert "incidents/partials/timeline.html" in templates(response)
    assert "<strong>twice</strong>" in body and "<script>x()" not in body
    assert 'hx-swap-oob="true"' in body


def test_empty_comment_without_js_redirects_with_a_message(client, user, open_incident):
    incident = open_incident()
    client.force_login(user)
    response = client.post(reverse("incidents:comment", args=[incident.pk]), {"body": ""}, follow=True)
    assert "required" in response.content.decode()


def test_resolve_with_failing_check_shows_the_reason_field(client, responder, open_incident):
    incident = open_incident()
    timeline_add(incident=incident, kind="check", message="Check “api”: CRITICAL — down",
                          data={"check_id": 1, "state": "critical"})
    client.force_login(responder)
    url = reverse("incidents:action", args=[incident.pk, "resolve"])
    refused = client.post(url, {"note": "restarted"})
    assert refused.status_code == 400 and "still failing" in refused.content.decode()
    client.post(url, {"note": "restarted", "override_reason": "probe is broken"})
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED


def test_transition_conflict_says_someone_else_did_it(client, responder, staff_user, open_incident):
    incident = open_incident()
    incident_acknowledge(incident=Incident.objects.get(pk=incident.pk), actor=staff_user)
    client.force_login(responder)
    # The page was loaded before; the button still says "cancel" from triage, but the status moved on.
    response = client.post(reverse("incidents:action", args=[incident.pk, "acknowledge"]), follow=True)
    assert response.status_code == 200
    assert incident.timeline.filter(kind=TimelineEvent.Kind.STATUS).count() == 1


def test_mark_event_important_via_htmx(client, responder, open_incident):
    incident = open_incident()
    event = incident.timeline.first()
    client.force_login(responder)
    response = client.post(reverse("incidents:event_important", args=[incident.pk, event.pk]),
                           {"important": "0"}, **HX)
    assert templates(response)[0] == "incidents/partials/timeline_event.html"
    event.refresh_from_db()
    assert event.important is False


def test_review_starts_from_important_events_and_action_items_show_across_incidents(
    client, responder, user, open_incident,
):
    incident = open_incident()
    client.force_login(responder)
    page = client.get(reverse("incidents:review", args=[incident.pk]))
    assert "Filed by" in page.context["form"].initial["summary"]
    client.post(reverse("incidents:review", args=[incident.pk]),
                {"summary": "s", "root_cause": "disk full", "contributing_factors": "no alert", "lessons": ""})
    assert PostIncidentReview.objects.get(incident=incident).root_cause == "disk full"
    client.post(reverse("incidents:action_item_add", args=[incident.pk]),
                {"title": "Alert on disk usage", "owner": user.username, "due_date": "2030-01-31"})
    item = ActionItem.objects.get()
    listing = client.get(reverse("incidents:action_items"))
    assert "Alert on disk usage" in listing.content.decode()
    # The owner may tick their own item off.
    client.force_login(user)
    client.post(reverse("incidents:action_item_toggle", args=[item.pk]), {"done": "1"})
    item.refresh_from_db()
    assert item.done and item.done_at is not None
    assert "Alert on disk usage" not in client.get(reverse("incidents:action_items")).content.decode()


def test_metrics_page_draws_svg_charts_and_tables(client, responder, open_incident, critical):
    incident = open_incident(severity=critical)
    incident_acknowledge(incident=incident, actor=responder,
                                  now=incident.created_at + timedelta(minutes=4))
    incident_resolve(incident=incident, actor=responder, now=incident.created_at + timedelta(hours=2))
    client.force_login(responder)
    body = client.get(reverse("incidents:metrics")).content.decode()
    assert "<svg" in body and "4 min" in body and "2.0 h" in body
    assert "<script" not in body.split("<main", 1)[1]


def test_metrics_compute_mtta_and_mttr_by_system_and_severity(open_incident, responder, critical, low):
    fast = open_incident(severity=critical)
    slow = open_incident(severity=low)
    for incident, ack, fix in ((fast, 2, 30), (slow, 60, 600)):
        incident_acknowledge(incident=incident, actor=responder,
                                      now=incident.created_at + timedelta(minutes=ack))
        incident_resolve(incident=incident, actor=responder, now=incident.created_at + timedelta(minutes=fix))
    open_incident()
    metrics = selectors.incident_metrics(user=responder)
    by_severity = {s.label: s.mean_seconds for s in metrics.mtta_by_severity}
    assert by_severity == {"Critical": 120, "Low": 3600}
    assert metrics.mttr_by_system[0].mean_seconds == (30 + 600) / 2 * 60
    assert dict((n, c) for n, _, c in metrics.open_by_severity)["High"] == 1


def test_similar_incidents_share_symptoms_system_and_words(open_incident, responder, locked, system):
    from tests.factories import SystemFactory

    first = open_incident(title="Database is locked on workers", what_happened="sqlite database is locked errors")
    first.symptoms.add(locked)
    other_system = SystemFactory(name="Elsewhere", slug="elsewhere")
    unrelated = open_incident(title="Slow dashboard", system=other_system, what_happened="pages take ten seconds")
    current = open_incident(title="Workers report database locked", what_happened="database is locked again")
    current.symptoms.add(locked)
    similar = selectors.incident_similar(incident=current, user=responder)
    assert similar[0].incident == first and similar[0].shared_symptoms == 1
    assert unrelated not in [s.incident for s in similar]


def test_reporter_can_withdraw_in_triage(client, user, open_incident):
    incident = open_incident()
    client.force_login(user)
    client.post(reverse("incidents:action", args=[incident.pk, "transition"]), {"status": "cancelled"})
    incident.refresh_from_db()
    assert incident.status == Incident.Status.CANCELLED


def test_unknown_action_is_404(client, responder, open_incident):
    client.force_login(responder)
    assert client.post(reverse("incidents:action", args=[open_incident().pk, "explode"])).status_code == 404


def test_attachments_download_for_viewers_only_and_never_inline(client, user, other_user, open_incident):
    from django.core.files.base import ContentFile

    incident = open_incident()
    attachment = attachment_add(
        incident=incident, actor=user,
        upload=Upload(name="page.html", file=ContentFile(b"<script>alert(1)</script>", name="page.html")))
    url = reverse("incidents:attachment", args=[incident.pk, attachment.pk])
    client.force_login(other_user)
    assert client.get(url).status_code == 404
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content) == b"<script>alert(1)</script>"


def test_a_title_with_a_line_break_is_refused_by_the_form(client, user, system):
    client.force_login(user)
    response = client.post(reverse("incidents:new"), form_data(system, title="Disk full\nBcc: everyone@example.com"))
    assert "single line" in response.content.decode()
    assert Incident.objects.count() == 0
