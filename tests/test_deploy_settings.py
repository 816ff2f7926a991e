"""Production settings: `check --deploy` is clean with TRIAGE_HTTPS, SECRET_KEY is required, a CSP is sent."""

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def run_manage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TRIAGE_"))}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env={**base, **env},
                          capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_behind_https():
    done = run_manage(["check", "--deploy"], {
        "DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "triage.example.com", "TRIAGE_HTTPS": "true",
    })
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout
    assert "WARNING" not in done.stdout + done.stderr


def test_start_without_a_secret_key_fails_when_debug_is_off(tmp_path):
    done = run_manage(["check"], {"DJANGO_DEBUG": "false", "TRIAGE_VAR_DIR": str(tmp_path)})
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY" in done.stderr


def test_generated_key_file_is_used_when_no_key_is_set(tmp_path):
    (tmp_path / "secret_key").write_text(secrets.token_urlsafe(64))
    done = run_manage(["check"], {"DJANGO_DEBUG": "false", "TRIAGE_VAR_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr


def test_pages_send_a_content_security_policy_without_inline_scripts(client):
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy


def test_https_switch_is_off_by_default():
    assert not settings.TRIAGE_HTTPS
    assert not getattr(settings, "SECURE_SSL_REDIRECT", False)


def test_sessions_stay_in_the_database():
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"
