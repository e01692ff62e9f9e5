"""The benchmark stays runnable: a tiny account, no latency. It checks its own invariants (API calls
within 1.1x of the minimum, deletions as seeded, the same registry with and without throttling) and
exits non-zero when one fails. No time is asserted."""

from __future__ import annotations

import subprocess
import sys

from infra.app import ROOT


def test_the_benchmark_runs_and_holds_its_invariants() -> None:
    result = subprocess.run(
        [sys.executable, "bench/sweep_bench.py", "--sizes", "3x12", "--latency-ms", "0", "--memory", "2x20"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "3 × 12" in result.stdout
    assert "CPU ms / call" in result.stdout
    assert "one-minute load average" in result.stdout
    assert "Peak RSS sweeping 2 repositories × 20 images" in result.stdout


def test_the_cli_render_benchmark_runs_and_counts_its_lines() -> None:
    result = subprocess.run(
        [sys.executable, "bench/cli_render_bench.py", "--repositories", "3", "--digests", "10", "--runs", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # The default view: a header of two lines, its rule, three rows (of two lines each: at 80
    # columns the names fold) and two lines of totals.
    assert "  default: 11 lines" in result.stdout
    assert "--details: " in result.stdout
