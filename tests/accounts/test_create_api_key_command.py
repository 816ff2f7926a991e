"""`manage.py create_api_key`: prints a working key once, refuses unknown users and scopes."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import ApiKey

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_api_key", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_prints_only_the_key_on_stdout_and_it_works(api_client, user):
    out, err = run("alice", "--scopes", "read,write", "--name", "ci")
    lines = out.splitlines()
    assert len(lines) == 1
    secret = lines[0]
    key = ApiKey.objects.get(user=user)
    assert secret.startswith(f"tri_{key.prefix}_")
    assert key.scopes == ["read", "write"] and key.name == "ci"
    assert secret not in err and "not shown again" in err
    assert key.hashed_key != secret and key.matches(secret)
    response = api_client.get("/api/v1/systems/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_each_run_makes_a_new_key(user):
    first, _ = run("alice")
    second, _ = run("alice")
    assert first != second
    assert ApiKey.objects.filter(user=user).count() == 2


def test_expires_days_sets_an_expiry(user):
    run("alice", "--expires-days", "7")
    key = ApiKey.objects.get(user=user)
    assert 6 < (key.expires_at - timezone.now()).days + 1 <= 7


def test_unknown_user_is_refused():
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        run("ghost")
    assert ApiKey.objects.count() == 0


@pytest.mark.parametrize("scopes", ["read,root", "", "admin"])
def test_unknown_or_disallowed_scopes_are_refused(user, scopes):
    with pytest.raises(CommandError):
        run("alice", "--scopes", scopes)
    assert ApiKey.objects.count() == 0


def test_admin_scope_is_allowed_for_staff(staff_user):
    run("sam", "--scopes", "admin")
    assert ApiKey.objects.get(user=staff_user).scopes == ["admin"]
