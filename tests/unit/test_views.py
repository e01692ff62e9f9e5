"""What the command line draws, from values alone: one row per repository by default, however many
digests; every row of either view at most two lines at 80 columns; a progress bar that counts
repositories."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from rich.console import Console

from ecr_sweeper.core.model import Action, Image, Protection, Verdict
from ecr_sweeper.core.outcome import RepositoryOutcome, RepositoryResult, SweepSummary
from ecr_sweeper.faces.cli.views import Collected, Run, View

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)
LONG_REASON = (
    "in use by ecs arn:aws:ecs:us-east-1:123456789012:task-definition/a-service-with-a-long-name:42; "
    "child of kept index sha256:" + "c" * 64
)


def result(name: str, digests: int) -> RepositoryResult:
    outcome = RepositoryOutcome(name, retention="3d")
    outcome.images_scanned = outcome.untagged_images = digests
    found = RepositoryResult(outcome)
    for n in range(digests):
        image = Image(f"sha256:{n:064x}", (), NOW - timedelta(days=9), 32_000_000)
        if n % 2:
            found.verdict(Verdict(image, Action.WOULD_DELETE, "expired: pushed 9d ago, no pull recorded, retention 3d"))
        else:
            found.verdict(Verdict(image, Action.KEPT, LONG_REASON, Protection.ECS))
    return found


def drawn(run: Run, *, details: bool = False, width: int = 80) -> list[str]:
    view = View("table", details=details)
    buffer = io.StringIO()
    view.out = Console(file=buffer, width=width, highlight=False, soft_wrap=False)
    view.show(run, command="plan")
    return buffer.getvalue().splitlines()


def run_of(*results: RepositoryResult) -> Run:
    collected = Collected(dry_run=True, region="us-east-1")
    collected.regional = [("us-east-1", r) for r in results]
    return Run([SweepSummary(dry_run=True, as_of=None, region="us-east-1")], collected)


def test_the_default_view_has_one_row_per_repository_whatever_the_digests() -> None:
    # Given 200 repositories of 1,000 untagged digests each
    run = run_of(*(result(f"team/service-{n:03}", 1_000) for n in range(200)))

    # When the plan is drawn
    lines = drawn(run)

    # Then there is one row per repository (at most two lines each: a long name folds), the
    # header (two lines at most), its rule and the totals
    assert sum(1 for line in lines if line.startswith("us-east-1 ")) == 200
    assert len(lines) <= 2 * 200 + 5
    assert lines[-2] == "Total to delete: 100,000 digest(s), 3.2 TB"
    assert lines[-1] == "Storage saved: about USD 320.00 a month (USD 0.10 per GB-month)"


@pytest.mark.parametrize("details", [False, True])
def test_every_line_fits_80_columns_and_every_row_two_lines(details: bool) -> None:
    # Given a repository with a long name and long reasons
    run = run_of(result("a-very-long-team-name/with-a-very-long-service-name/and-more", 6))

    # When it is drawn at 80 columns
    lines = drawn(run, details=details)

    # Then no line is wider, and each row takes one or two lines
    assert all(len(line) <= 80 for line in lines), lines
    starts = [
        n
        for n, line in enumerate(lines)
        if (re.match(r"[0-9a-f]{12} ", line) if details else line.startswith("us-east-1"))
    ]
    assert len(starts) == (6 if details else 1)
    ends = [*starts[1:], next(n for n, line in enumerate(lines) if line.startswith("Total"))]
    assert all(1 <= end - start <= 2 for start, end in zip(starts, ends, strict=True)), lines


def test_details_shorten_digests_and_arns_in_reasons() -> None:
    # Given a repository with one kept digest whose reason names a task definition ARN and an index digest
    # When it is drawn with details, 200 columns wide
    lines = drawn(run_of(result("app", 1)), details=True, width=200)

    # Then its row names the task definition without the rest of its ARN
    [row] = [line for line in lines if line.startswith("0" * 12)]
    assert "in use by ecs task-definition/a-service-with-a-long-name:42" in row
    # And the index digest is cut to 12 characters
    assert "child of kept index cccccccccccc" in row and "c" * 13 not in row


def test_sizes_are_decimal_units() -> None:
    # Given a repository with two digests of 32,000,000 bytes
    # When it is drawn
    lines = drawn(run_of(result("app", 2)))

    # Then sizes are in decimal units (32.0 MB), never MiB or GiB
    assert any("32.0 MB" in line for line in lines)
    assert not any(unit in line for line in lines for unit in ("MiB", "GiB"))


def test_the_progress_bar_counts_repositories_on_a_terminal() -> None:
    # Given a terminal on stderr
    view = View("table")
    buffer = io.StringIO()
    view.err = Console(file=buffer, force_terminal=True, width=100)

    # When a region with three repositories is swept
    with view.progress("planning"):
        view.add_total(3)
        for n in range(3):
            view.repository_done("us-east-1", result(f"r{n}", 0), dry_run=True)
        assert view._progress.tasks[0].completed == 3 and view._progress.tasks[0].total == 3

    # Then the bar said repositories, done of total
    assert "repositories" in buffer.getvalue()


def test_no_progress_bar_when_stderr_is_not_a_terminal() -> None:
    # Given stderr that is not a terminal
    view = View("table")
    view.err = Console(file=io.StringIO(), force_terminal=False)

    # When a region is planned, then there is no progress bar
    with view.progress("planning"):
        assert view._progress is None
