"""The expiry rule at its boundaries: pushed AND last pulled at least N days before `now`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ecr_sweeper.model import Action, Image
from ecr_sweeper.planner import judge, plan
from ecr_sweeper.policy import Retention

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)
SECOND = timedelta(seconds=1)


def image(pushed: timedelta | None, pulled: timedelta | None = None, tags: tuple[str, ...] = ()) -> Image:
    return Image(
        digest="sha256:" + "a" * 64,
        tags=tags,
        pushed_at=None if pushed is None else NOW - pushed,
        size_bytes=10,
        last_pulled_at=None if pulled is None else NOW - pulled,
    )


def test_expired_exactly_at_the_retention_boundary() -> None:
    verdict = judge(image(timedelta(days=7)), Retention(7), NOW)
    assert verdict.action is Action.DELETE
    assert verdict.reason == "expired: pushed 7d ago, no pull recorded, retention 7d"


def test_kept_one_second_before_the_boundary() -> None:
    verdict = judge(image(timedelta(days=7) - SECOND), Retention(7), NOW)
    assert verdict.action is Action.KEEP
    assert verdict.reason == "not expired: pushed 6d ago, retention 7d"


def test_a_pull_one_second_inside_the_window_keeps_it() -> None:
    verdict = judge(image(timedelta(days=30), pulled=timedelta(days=7) - SECOND), Retention(7), NOW)
    assert verdict.action is Action.KEEP
    assert verdict.reason.startswith("pulled recently: last pulled 6d ago")


def test_a_pull_exactly_at_the_boundary_does_not_keep_it() -> None:
    verdict = judge(image(timedelta(days=30), pulled=timedelta(days=7)), Retention(7), NOW)
    assert verdict.action is Action.DELETE
    assert verdict.reason == "expired: pushed 30d ago, last pulled 7d ago, retention 7d"


def test_a_young_push_is_kept_even_when_the_pull_is_old() -> None:
    # Impossible in ECR, but the rule is "and": both must be old enough.
    verdict = judge(image(timedelta(days=2), pulled=timedelta(days=20)), Retention(7), NOW)
    assert verdict.action is Action.KEEP


def test_retention_zero_expires_everything_untagged() -> None:
    verdict = judge(image(timedelta(seconds=1), pulled=timedelta(seconds=1)), Retention(0), NOW)
    assert verdict.action is Action.DELETE
    assert "retention 0d" in verdict.reason


def test_ages_under_a_day_are_said_in_hours() -> None:
    verdict = judge(image(timedelta(hours=5, minutes=59)), Retention(1), NOW)
    assert verdict.reason == "not expired: pushed 5h ago, retention 1d"


def test_a_push_after_the_evaluation_time_is_not_expired() -> None:
    verdict = judge(image(-timedelta(days=3)), Retention(1), NOW)
    assert verdict.action is Action.KEEP
    assert verdict.reason == "not expired: pushed 0h ago, retention 1d"


def test_no_push_time_means_keep() -> None:
    assert judge(image(None), Retention(1), NOW).action is Action.KEEP


def test_plan_never_judges_tagged_images() -> None:
    tagged = image(timedelta(days=999), tags=("prod",))
    loose = image(timedelta(days=999))
    verdicts = plan([tagged, loose], Retention(0), NOW).verdicts
    assert [v.image for v in verdicts] == [loose]
