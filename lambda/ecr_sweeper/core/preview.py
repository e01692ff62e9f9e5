"""The first week after a deploy is a preview: every run that was not explicitly told otherwise is a
dry run, so that an owner sees what the sweeper would delete before it deletes anything (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta


@dataclass(frozen=True)
class Preview:
    """This run is a preview; real deletions start on `deleting_starts` (UTC)."""

    deleting_starts: date


def preview(first_run: datetime | None, days: int, now: datetime) -> Preview | None:
    """None when the preview is over (or off); `first_run` None means this is the first run, or
    that its time could not be read: then the preview starts now, which can only delay a deletion."""
    if days <= 0:
        return None
    started = first_run or now
    ends = started + timedelta(days=days)
    if now >= ends:
        return None
    return Preview(ends.date())
