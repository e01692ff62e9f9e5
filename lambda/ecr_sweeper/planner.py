"""Pure decisions: which untagged digests have expired, each with the reason for its verdict."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from ecr_sweeper.model import Action, Image, Verdict
from ecr_sweeper.policy import Retention


def plan(images: Iterable[Image], retention: Retention, now: datetime) -> list[Verdict]:
    """One verdict per untagged digest. Tagged images get none: they are never touched."""
    return [judge(image, retention, now) for image in images if image.untagged]


def judge(image: Image, retention: Retention, now: datetime) -> Verdict:
    """Expired once at least `retention` has passed since the push and since the last pull."""
    if retention.days == 0:
        return Verdict(image, Action.DELETE, "expired: retention 0d, every untagged digest expires")
    if image.pushed_at is None:
        return Verdict(image, Action.KEEP, "kept: ECR reports no push time, so its age is unknown")
    pushed_age = now - image.pushed_at
    if pushed_age < retention.window:
        return Verdict(image, Action.KEEP, f"not expired: pushed {_ago(pushed_age)} ago, retention {retention}")
    if image.last_pulled_at is not None:
        pulled_age = now - image.last_pulled_at
        if pulled_age < retention.window:
            return Verdict(
                image,
                Action.KEEP,
                f"pulled recently: last pulled {_ago(pulled_age)} ago, retention {retention}",
            )
        return Verdict(
            image,
            Action.DELETE,
            f"expired: pushed {_ago(pushed_age)} ago, last pulled {_ago(pulled_age)} ago, retention {retention}",
        )
    return Verdict(
        image, Action.DELETE, f"expired: pushed {_ago(pushed_age)} ago, no pull recorded, retention {retention}"
    )


def _ago(age: timedelta) -> str:
    # A push after the evaluation time (an asOf in the past) reads as 0h, not as a negative age.
    age = max(age, timedelta(0))
    if age >= timedelta(days=1):
        return f"{age.days}d"
    return f"{int(age.total_seconds() // 3600)}h"
