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


def test_bench_alerts_accepts_a_small_storm_with_exact_dedup_and_nothing_lost(tmp_path):
    result = run_benchmark(tmp_path, "bench_alerts", "--alerts", "120", "--fingerprints", "6", "--systems", "3",
                           "--incidents", "6", "--clients", "2", "--workers", "1", "--threads", "2")
    assert result["alerts_accepted"] == 120 and result["alerts_lost"] == 0
    assert result["incidents_created"] == result["distinct_groups"] == 3
    for key in ("accepted_per_s", "p95_accept_ms", "incidents_per_s", "p95_incident_ms", "ratio"):
        assert result[key] > 0, key


def test_bench_relevance_prints_every_figure_and_finds_a_pasted_error(tmp_path):
    # Its own SQLite file, migrated first: the benchmark rolls back what it imports, never touching real data.
    env = {**os.environ, "TRIAGE_VAR_DIR": str(tmp_path), "DATABASE_URL": "", "REDIS_URL": "",
           "DJANGO_SECRET_KEY": settings.SECRET_KEY}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=settings.BASE_DIR, env=env, check=True,
                   capture_output=True, timeout=300)
    completed = subprocess.run(
        [sys.executable, "manage.py", "bench_relevance", "--guide", "kind-known-issues", "--guide", "traefik-faq",
         "--no-seeds", "--no-semantic"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, completed.stdout[-2000:]
    result = json.loads(lines[0])
    assert result["guides"] == 2 and result["dev_guides"] == 2
    for key in ("section_coverage", "extraction_rate", "paste_top1", "paste_top3", "variant_top3", "paraphrase_top3",
                "paraphrase_top3_lexical"):
        assert 0 <= result["dev"][key] <= 1, key
        assert key in result["heldout"]
    # A verbatim error from the guide, pasted alone, finds its section.
    assert result["dev"]["paste_top3"] >= 0.5
    for key in ("clean_log_signature_matches", "clean_log_related_on_info", "clean_log_related_hits"):
        assert result[key] >= 0, key
    assert result["clean_log_related_on_info"] == 0
    # Without the semantic rerank both paraphrase figures are the lexical one.
    assert result["semantic"] is False
    assert result["dev"]["paraphrase_top3"] == result["dev"]["paraphrase_top3_lexical"]
    check = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "from kb.models import Article; print(Article.objects.count())"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120,
    )
    assert check.stdout.strip().splitlines()[-1] == "0", "bench_relevance left articles behind"
