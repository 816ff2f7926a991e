"""Each benchmark command runs end to end at a tiny size and prints one JSON line with its named fields.

They run as subprocesses, as a person would run them: the benchmarks make their own scratch databases.
"""

import json
import os
import subprocess
import sys

from django.conf import settings


def run_benchmark(tmp_path, *args: str) -> dict:
    env = {**os.environ, "TRIAGE_VAR_DIR": str(tmp_path), "DJANGO_SECRET_KEY": settings.SECRET_KEY}
    completed = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env,
        capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, completed.stdout[-2000:]
    return json.loads(lines[0])


def test_bench_search_prints_its_ratios_against_the_naive_scan(tmp_path):
    result = run_benchmark(tmp_path, "bench_search", "--articles", "300", "--queries", "10",
                           "--baseline-queries", "3", "--vector-queries", "1")
    assert result["articles"] == 300
    for key in ("search_p95_ms", "naive_p95_ms", "speedup_vs_naive", "ranked_vs_unranked", "common_vs_rare",
                "headline_overhead"):
        assert result[key] > 0, key


def test_bench_match_prints_its_speed_against_grep(tmp_path):
    result = run_benchmark(tmp_path, "bench_match", "--signatures", "200", "--log-mb", "1", "--rounds", "1")
    assert result["signatures"] == 200
    for key in ("mb_per_s", "grep_mb_per_s", "ratio_vs_grep", "ratio_vs_naive", "build_ms"):
        assert result[key] > 0, key
    assert result["matched_lines"] > 0
