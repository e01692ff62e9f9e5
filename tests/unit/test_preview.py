"""The preview week's arithmetic, at its boundaries."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from ecr_sweeper.core.preview import Preview, preview

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)


def test_no_days_no_preview() -> None:
    assert preview(None, 0, NOW) is None
    assert preview(NOW - timedelta(days=1), 0, NOW) is None


def test_the_first_run_starts_the_week() -> None:
    assert preview(None, 7, NOW) == Preview(date(2026, 12, 4))


def test_one_second_before_the_end_is_still_a_preview_and_the_end_is_not() -> None:
    first = NOW - timedelta(days=7)
    assert preview(first + timedelta(seconds=1), 7, NOW) == Preview(date(2026, 11, 27))
    assert preview(first, 7, NOW) is None


def test_a_first_run_in_the_future_only_extends_the_preview() -> None:
    # A clock skew between runs can only delay deletions, never bring them forward.
    assert preview(NOW + timedelta(hours=1), 7, NOW) == Preview(date(2026, 12, 4))
