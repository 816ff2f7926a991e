import os

import pytest
from rest_framework.test import APIClient

from accounts.services import api_key_create
from config.celery import app as celery_app

from .factories import UserFactory

# Playwright's sync API runs an event loop in the test thread; Django's ORM would otherwise refuse.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _celery_runs_inline(settings, tmp_path):
    """Tasks run in-process unless a test asks for a real worker (marked `integration`)."""
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The production hasher costs ~0.5 s per user; tests only need passwords to round-trip.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _isolated_cache(settings, tmp_path):
    """Each test gets an empty private cache, so runs in parallel cannot see each other's keys."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": str(tmp_path)}}


@pytest.fixture(autouse=True)
def _lexical_search(settings):
    """Search stays lexical unless a test asks for the semantic rerank (the ``semantic`` fixture), so
    tests that do not need it never load the sentence model or encode their articles."""
    settings.TRIAGE_SEMANTIC = False


@pytest.fixture
def semantic(settings):
    """Turn the semantic rerank on; skips when the model package is not installed."""
    from kb.search.semantic import model_available

    if not model_available():
        pytest.skip("the sentence-model package is not installed")
    settings.TRIAGE_SEMANTIC = True


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def user(db):
    return UserFactory(username="alice")


@pytest.fixture
def other_user(db):
    return UserFactory(username="bob")


@pytest.fixture
def staff_user(db):
    return UserFactory(username="sam", is_staff=True)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def read_key(user) -> str:
    return api_key_create(user=user, scopes=["read"])[1]


@pytest.fixture
def write_key(user) -> str:
    return api_key_create(user=user, scopes=["write"])[1]


@pytest.fixture
def staff_write_key(staff_user) -> str:
    return api_key_create(user=staff_user, scopes=["write"])[1]


@pytest.fixture
def staff_admin_key(staff_user) -> str:
    """Staff-only writes through the API need a key with the admin scope."""
    return api_key_create(user=staff_user, scopes=["admin"])[1]
