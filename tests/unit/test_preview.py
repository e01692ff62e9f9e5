"""The preview week's arithmetic, at its boundaries."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from ecr_sweeper.core.preview import Preview, preview

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)


def test_no_days_no_preview() -> None:
    # Given a preview of 0 days
    # When the first run is now or was a day ago, then there is no preview
    assert preview(None, 0, NOW) is None
    assert preview(NOW - timedelta(days=1), 0, NOW) is None


def test_the_first_run_starts_the_week() -> None:
    # Given a preview of 7 days and no first run recorded
    # When the first run asks, then the preview lasts until 7 days from today
    assert preview(None, 7, NOW) == Preview(date(2026, 12, 4))


def test_one_second_before_the_end_is_still_a_preview_and_the_end_is_not() -> None:
    # Given a preview of 7 days and a first run 7 days ago
    first = NOW - timedelta(days=7)

    # When the first run was one second later, then it is still a preview, ending today
    assert preview(first + timedelta(seconds=1), 7, NOW) == Preview(date(2026, 11, 27))
    # And at exactly 7 days after the first run, the preview is over
    assert preview(first, 7, NOW) is None


def test_a_first_run_in_the_future_only_extends_the_preview() -> None:
    # Given a preview of 7 days and a first run recorded one hour in the future
    # A clock skew between runs can only delay deletions, never bring them forward.
    # When it is asked, then the preview lasts until 7 days from today, as if the first run were now
    assert preview(NOW + timedelta(hours=1), 7, NOW) == Preview(date(2026, 12, 4))
