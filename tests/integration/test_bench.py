"""The benchmark stays runnable: a tiny account, no latency. It checks its own invariants (API calls
within 1.1x of the minimum, deletions as seeded, the same registry with and without throttling; the
in-use scan's second night within its pages, new objects and mutable reads) and exits non-zero when
one fails. No time is asserted."""

from __future__ import annotations

import shlex
import subprocess
import sys

from infra.app import ROOT


def bench(module: str, arguments: str) -> str:
    """What `python -m bench.<module> <arguments>` printed, once it exited 0."""
    result = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *shlex.split(arguments)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_the_benchmark_runs_and_holds_its_invariants() -> None:
    # Given a tiny account: 3 repositories of 12 images, and 2 of 20 for the memory run, without latency or in-use scan
    # When the sweep benchmark runs, then it exits 0: its own invariants hold
    printed = bench("sweep_bench", "--sizes 3x12 --latency-ms 0 --memory 2x20 --in-use none")
    # And it prints the size, the CPU time per call, the load average and the peak memory
    assert "3 × 12" in printed
    assert "CPU ms / call" in printed
    assert "one-minute load average" in printed
    assert "Peak RSS sweeping 2 repositories × 20 images" in printed


def test_the_in_use_benchmark_runs_two_nights_within_their_calls() -> None:
    # Given a registry account and two consumer accounts with revisions, services and function versions
    # 120 revisions (two pages), 15 services in one cluster, 6 published versions of 2 functions;
    # and two consumer accounts of 40 revisions, 5 services and 4 versions of one function each
    # When the in-use benchmark runs two nights, with new revisions before the second, then it exits 0
    printed = bench(
        "sweep_bench",
        "--sizes none --memory none --latency-ms 0 --in-use 120x15x6 --new-revisions 2 --consumers 2 "
        "--consumer-in-use 40x5x4",
    )

    # Then each night makes exactly the calls it may make at most
    # Night 1 describes every revision and every version ($LATEST too) of every account: 144 calls
    # in the registry account, 58 in each consumer account, and 3 calls to STS (who the sweeper is,
    # and the two reader roles). Night 2 describes the new revisions (2 per account) and $LATEST
    # only, with every listing's pages again: 20 + 2 x 16 + 3. Exactly the calls each may make at most.
    rows = [line.split("│") for line in printed.splitlines() if line.startswith("│")]
    assert [[cell.strip() for cell in row[1:6]] for row in rows] == [
        ["1: cold cache", "263", "263", "200", "18"],
        ["2: warm, +2 revisions each", "55", "55", "6", "4"],
    ]


def test_the_cli_render_benchmark_runs_and_counts_its_lines() -> None:
    # Given 3 repositories of 10 digests
    # When the command line's render benchmark runs once, then it exits 0
    printed = bench("cli_render_bench", "--repositories 3 --digests 10 --runs 1")

    # Then it counts the lines of the default view and of --details
    # The default view: a header of two lines, its rule, three rows (of two lines each: at 80
    # columns the names fold) and two lines of totals.
    assert "  default: 11 lines" in printed
    assert "--details: " in printed
