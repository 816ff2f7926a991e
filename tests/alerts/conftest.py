from datetime import timedelta

import pytest

from alerts import services
from incidents.models import Severity
from incidents.services.severities import severities_ensure_defaults
from tests.factories import SystemFactory


@pytest.fixture(autouse=True)
def _alert_defaults(db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.TRIAGE_INCIDENT_NOTIFY_EMAILS = []
    settings.TRIAGE_BASE_URL = "http://testserver"
    severities_ensure_defaults()


@pytest.fixture
def system(db):
    return SystemFactory(name="Storage", slug="storage")


@pytest.fixture
def make_source(db, system, staff_user):
    def _make(kind: str = "alertmanager", **kwargs):
        values = {"name": f"{kind} source", "kind": kind, "system": system,
                  "severity": Severity.objects.get(slug="high"), "created_by": staff_user,
                  "group_window": timedelta(minutes=10)}
        values.update(kwargs)
        return services.alert_source_create(**values)

    return _make
