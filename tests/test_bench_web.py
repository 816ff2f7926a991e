"""bench_web runs end to end at a tiny size: gunicorn really serves, every scenario succeeds, one JSON line."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

pytestmark = pytest.mark.integration  # PostgreSQL run: many concurrent writers


def test_bench_web_prints_one_line_with_ratios_to_health_and_no_errors():
    completed = subprocess.run(
        [sys.executable, "manage.py", "bench_web", "--connections", "2,4", "--duration", "0.5", "--workers", "1"],
        cwd=settings.BASE_DIR, env={**os.environ, "DJANGO_SECRET_KEY": settings.SECRET_KEY},
        capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["errors"] == 0, result
    for count in ("2", "4"):
        phases = result["connections"][count]
        assert set(phases) == {"health", "article", "search", "match", "incident"}
        for scenario in ("article", "search", "match", "incident"):
            stats = phases[scenario]
            assert stats["requests"] > 0 and stats["rps"] > 0, (count, scenario)
            assert stats["rps_ratio"] > 0 and stats["p95_ratio"] > 0
