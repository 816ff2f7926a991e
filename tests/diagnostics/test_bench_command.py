import io
import json

import pytest
from django.core.management import CommandError, call_command


def test_bench_prints_one_json_line_with_the_measurements():
    out = io.StringIO()
    call_command("bench_checks", "--checks", "20", "--latency-ms", "5", "--concurrency", "5", "--rounds", "1",
                 "--skip-celery", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert report["all_ok"] is True
    for key in ("checks_per_s", "bare_checks_per_s", "ratio_vs_bare", "wall_vs_ideal", "ideal_s", "targets"):
        assert key in report
    assert report["ideal_s"] == pytest.approx(20 * 0.005 / 5)


def test_bench_refuses_nonsense_sizes():
    with pytest.raises(CommandError):
        call_command("bench_checks", "--checks", "0", "--skip-celery")
