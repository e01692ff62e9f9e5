"""The planner's rules about one digest's own history, each a pure function: tagged, archived, in use,
Amazon Inspector's sighting, age and recent pull; each returns what it checked and, when it keeps the
digest, the verdict with its reason."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ecr_sweeper.core.model import Action, Check, Image, Protection, Sighting, Use, Verdict
from ecr_sweeper.core.policy import Retention

# The rules, in the order they are checked and shown (`ecr-sweeper explain`).
TAGGED, ARCHIVED, IN_USE, INSPECTOR, AGE, PULL, INDEX_CHILD, REFERRER = (
    "tagged",
    "archived",
    "in use",
    "amazon inspector",
    "age",
    "recent pull",
    "child of an index",
    "referrer of an image",
)


FOLLOWS_SUBJECT = "not checked: a referrer goes with its subject"


@dataclass(frozen=True)
class Facts:
    """What the rules about one digest's own history read."""

    retention: Retention
    now: datetime
    # None: in-use protection is off (nothing was scanned).
    in_use: Mapping[str, Sequence[Use]] | None
    inspector: Mapping[str, Sighting]


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule's result: the check, and when it keeps the digest, the verdict it gives."""

    check: Check | None
    keep: Verdict | None = None


# What a rule finds when it neither keeps the digest nor is traced: one value, shared.
NOTHING = Finding(None)


def judge(image: Image, retention: Retention, now: datetime) -> Verdict:
    """The verdict of the age and pull rules alone: expired once at least `retention` has passed
    since the push and since the last pull."""
    facts = Facts(retention, now, {}, {})
    for rule in (_age, _pull):
        keep = rule(image, facts, False).keep
        if keep is not None:
            return keep
    return expired(image, retention, now)


def own_rules(image: Image, facts: Facts, present: Mapping[str, Image], trace: bool) -> list[Finding]:
    """The rules about the digest itself, in order, up to the first that keeps it (every one with
    `trace`). A tagged or archived image is never judged: the rest are checked only for the trace.
    Without `trace`, a rule that found nothing is left out."""
    if not trace and (image.tags or image.archived):
        return []
    found: list[Finding] = []
    for rule in (_tagged, _archived, _in_use, _inspector):
        finding = rule(image, facts, trace)
        if finding is not NOTHING:
            found.append(finding)
        if finding.keep is not None and not trace:
            return found
    if image.tags or image.archived:
        return found if trace else []
    if follows_subject(image, present):
        if trace:
            found += [Finding(Check(AGE, False, FOLLOWS_SUBJECT)), Finding(Check(PULL, False, FOLLOWS_SUBJECT))]
        return found
    for rule in (_age, _pull):
        finding = rule(image, facts, trace)
        if finding is not NOTHING:
            found.append(finding)
        if finding.keep is not None and not trace:
            return found
    return found


def _tagged(image: Image, facts: Facts, trace: bool) -> Finding:
    if not trace:
        return NOTHING
    return Finding(Check(TAGGED, bool(image.tags), ", ".join(image.tags) or "no tag"))


def _archived(image: Image, facts: Facts, trace: bool) -> Finding:
    if not trace:
        return NOTHING
    return Finding(Check(ARCHIVED, image.archived, f"image status {image.status}"))


def _in_use(image: Image, facts: Facts, trace: bool) -> Finding:
    users = tuple(facts.in_use.get(image.digest, ())) if facts.in_use is not None else ()
    if users:
        keep = Verdict(image, Action.KEPT, f"in use by {users[0]}", users[0].family, users)
        return Finding(Check(IN_USE, True, "; ".join(map(str, users))) if trace else None, keep)
    if not trace:
        return NOTHING
    if facts.in_use is None:
        return Finding(Check(IN_USE, False, "not scanned (PROTECT_IN_USE=false)"))
    return Finding(Check(IN_USE, False, "no workload runs it or names it by digest"))


def _inspector(image: Image, facts: Facts, trace: bool) -> Finding:
    """Amazon Inspector's reason to keep a digest: something runs it now, or ran it within the
    retention window (lastInUseAt counts like a pull)."""
    sighting = facts.inspector.get(image.digest)
    seen = None
    if sighting is not None and sighting.in_use_count > 0:
        seen = f"in use per amazon inspector: {sighting.in_use_count} running task(s) or pod(s)"
    elif sighting is not None and sighting.last_in_use_at is not None:
        idle = facts.now - sighting.last_in_use_at
        if idle < facts.retention.window:
            seen = f"in use per amazon inspector: last in use {ago(idle)} ago, retention {facts.retention}"
    if seen is not None:
        keep = Verdict(image, Action.KEPT, seen, Protection.INSPECTOR)
        return Finding(Check(INSPECTOR, True, seen) if trace else None, keep)
    if not trace:
        return NOTHING
    if sighting is None:
        return Finding(Check(INSPECTOR, False, "no sighting of it in use"))
    last = sighting.last_in_use_at.isoformat() if sighting.last_in_use_at else "never"
    return Finding(Check(INSPECTOR, False, f"not in use now; last in use {last}"))


def _age(image: Image, facts: Facts, trace: bool) -> Finding:
    retention = facts.retention
    if retention.days == 0:
        return Finding(Check(AGE, False, "retention 0d: every untagged digest expires")) if trace else NOTHING
    if image.pushed_at is None:
        reason = "kept: ECR reports no push time, so its age is unknown"
        return Finding(Check(AGE, True, reason) if trace else None, Verdict(image, Action.KEPT, reason, Protection.AGE))
    return _recent(image, image.pushed_at, facts, trace, rule=AGE, what="pushed", kept="not expired", by=Protection.AGE)


def _pull(image: Image, facts: Facts, trace: bool) -> Finding:
    if image.last_pulled_at is None or facts.retention.days == 0:
        if not trace:
            return NOTHING
        detail = "no pull recorded" if image.last_pulled_at is None else "retention 0d: a pull keeps nothing"
        return Finding(Check(PULL, False, detail))
    return _recent(
        image,
        image.last_pulled_at,
        facts,
        trace,
        rule=PULL,
        what="last pulled",
        kept="pulled recently",
        by=Protection.PULL,
    )


def _recent(
    image: Image, when: datetime, facts: Facts, trace: bool, *, rule: str, what: str, kept: str, by: Protection
) -> Finding:
    """Whether `when` (the push, or the last pull) lies within the retention window: then it keeps."""
    age = facts.now - when
    applies = age < facts.retention.window
    if not applies and not trace:
        return NOTHING
    detail = f"{what} {ago(age)} ago, retention {facts.retention}"
    keep = Verdict(image, Action.KEPT, f"{kept}: {detail}", by) if applies else None
    return Finding(Check(rule, applies, detail) if trace else None, keep)


def expired(image: Image, retention: Retention, now: datetime) -> Verdict:
    """The verdict for a digest that no rule of its own keeps."""
    if retention.days == 0:
        return Verdict(image, Action.WOULD_DELETE, "expired: retention 0d, every untagged digest expires")
    pushed = f"pushed {ago(now - image.pushed_at)} ago" if image.pushed_at is not None else "no push time"
    pulled = (
        f"last pulled {ago(now - image.last_pulled_at)} ago" if image.last_pulled_at is not None else "no pull recorded"
    )
    return Verdict(image, Action.WOULD_DELETE, f"expired: {pushed}, {pulled}, retention {retention}")


def ago(age: timedelta) -> str:
    # A push after the evaluation time (an asOf in the past) reads as 0h, not as a negative age.
    age = max(age, timedelta(0))
    if age >= timedelta(days=1):
        return f"{age.days}d"
    return f"{int(age.total_seconds() // 3600)}h"


def follows_subject(image: Image, present: Mapping[str, Image]) -> bool:
    return image.subject_digest is not None and image.subject_digest != image.digest and image.subject_digest in present
