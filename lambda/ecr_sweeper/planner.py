"""Pure decisions: a verdict with its reason for every untagged digest, and a safe deletion order.

An untagged digest is deleted only when it has expired and nothing protects it:
- a tagged image is never judged, and protects what it points at;
- a digest that a Lambda function or an ECS task runs is kept ("in use by ...");
- a digest younger than the retention, or pulled within it, is kept;
- a digest listed in manifests[] of a kept index is kept, transitively ("child of kept index ...");
- a referrer (subjectManifestDigest) of a kept image is kept ("referrer of kept image ...");
  a referrer follows its subject: deleted with it, first; an orphan referrer expires on its own.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ecr_sweeper.model import Action, Image, Protection, RepositoryUsage, Verdict
from ecr_sweeper.policy import Retention


@dataclass(frozen=True)
class Plan:
    # One verdict per untagged digest, in listing order.
    verdicts: list[Verdict]
    # The DELETE verdicts in waves: an index before its children and a referrer before its
    # subject, so that ECR never answers ImageReferencedByManifestList.
    waves: list[list[Verdict]] = field(default_factory=list)

    @property
    def deletions(self) -> list[Verdict]:
        return [verdict for wave in self.waves for verdict in wave]


def plan(
    images: Sequence[Image],
    retention: Retention,
    now: datetime,
    *,
    children: Mapping[str, Sequence[str]] | None = None,
    usage: RepositoryUsage | None = None,
) -> Plan:
    children = children or {}
    usage = usage or RepositoryUsage()
    present = {image.digest: image for image in images}
    referrers: dict[str, list[str]] = defaultdict(list)
    for image in images:
        if _follows_subject(image, present):
            referrers[image.subject_digest].append(image.digest)  # type: ignore[index]

    decided: dict[str, Verdict] = {}
    kept: list[str] = []
    for image in images:
        if image.tags:
            kept.append(image.digest)
            continue
        users = usage.users(image)
        if users:
            decided[image.digest] = Verdict(image, Action.KEEP, f"in use by {users[0]}", _user_protection(users[0]))
        elif _follows_subject(image, present):
            continue
        else:
            decided[image.digest] = judge(image, retention, now)
        if decided[image.digest].action is Action.KEEP:
            kept.append(image.digest)

    # Whatever is kept protects the manifests it lists and the referrers that describe it.
    protected = set(kept)
    queue = deque(kept)
    while queue:
        parent = queue.popleft()
        for digest, reason, protection in _protects(parent, children, referrers):
            if digest in present and digest not in protected:
                protected.add(digest)
                if present[digest].untagged:
                    decided[digest] = Verdict(present[digest], Action.KEEP, reason, protection)
                queue.append(digest)

    for image in images:
        if image.untagged and image.digest not in decided:
            # A referrer whose subject is not kept goes with its subject.
            decided[image.digest] = Verdict(image, Action.DELETE, f"referrer of deleted image {image.subject_digest}")

    verdicts = [decided[image.digest] for image in images if image.untagged]
    return Plan(verdicts, _waves(verdicts, children, referrers))


def judge(image: Image, retention: Retention, now: datetime) -> Verdict:
    """Expired once at least `retention` has passed since the push and since the last pull."""
    if retention.days == 0:
        return Verdict(image, Action.DELETE, "expired: retention 0d, every untagged digest expires")
    if image.pushed_at is None:
        return Verdict(image, Action.KEEP, "kept: ECR reports no push time, so its age is unknown", Protection.AGE)
    pushed_age = now - image.pushed_at
    if pushed_age < retention.window:
        return Verdict(
            image, Action.KEEP, f"not expired: pushed {_ago(pushed_age)} ago, retention {retention}", Protection.AGE
        )
    if image.last_pulled_at is not None:
        pulled_age = now - image.last_pulled_at
        if pulled_age < retention.window:
            return Verdict(
                image,
                Action.KEEP,
                f"pulled recently: last pulled {_ago(pulled_age)} ago, retention {retention}",
                Protection.PULL,
            )
        return Verdict(
            image,
            Action.DELETE,
            f"expired: pushed {_ago(pushed_age)} ago, last pulled {_ago(pulled_age)} ago, retention {retention}",
        )
    return Verdict(
        image, Action.DELETE, f"expired: pushed {_ago(pushed_age)} ago, no pull recorded, retention {retention}"
    )


def _follows_subject(image: Image, present: Mapping[str, Image]) -> bool:
    return image.subject_digest is not None and image.subject_digest != image.digest and image.subject_digest in present


def _protects(
    parent: str, children: Mapping[str, Sequence[str]], referrers: Mapping[str, Sequence[str]]
) -> Iterable[tuple[str, str, Protection]]:
    for child in children.get(parent, ()):
        yield child, f"child of kept index {parent}", Protection.INDEX
    for referrer in referrers.get(parent, ()):
        yield referrer, f"referrer of kept image {parent}", Protection.REFERRER


def _user_protection(user: str) -> Protection:
    return Protection.LAMBDA if user.startswith("lambda ") else Protection.ECS


def _waves(
    verdicts: Sequence[Verdict], children: Mapping[str, Sequence[str]], referrers: Mapping[str, Sequence[str]]
) -> list[list[Verdict]]:
    doomed = {v.image.digest: v for v in verdicts if v.action is Action.DELETE}
    # Who must be deleted before a digest: the indexes that list it and the referrers of it.
    before: dict[str, list[str]] = defaultdict(list)
    for index, listed in children.items():
        if index in doomed:
            for child in listed:
                before[child].append(index)
    for subject, refs in referrers.items():
        before[subject].extend(ref for ref in refs if ref in doomed)

    level: dict[str, int] = {}

    def level_of(digest: str, path: frozenset[str] = frozenset()) -> int:
        if digest not in level:
            # Digests are content hashes, so cycles cannot occur; the path guard only keeps a
            # malformed manifest from recursing forever.
            parents = [p for p in before.get(digest, ()) if p not in path]
            level[digest] = 1 + max((level_of(p, path | {digest}) for p in parents), default=-1)
        return level[digest]

    waves: dict[int, list[Verdict]] = defaultdict(list)
    for digest, verdict in doomed.items():
        waves[level_of(digest)].append(verdict)
    return [waves[n] for n in sorted(waves)]


def _ago(age: timedelta) -> str:
    # A push after the evaluation time (an asOf in the past) reads as 0h, not as a negative age.
    age = max(age, timedelta(0))
    if age >= timedelta(days=1):
        return f"{age.days}d"
    return f"{int(age.total_seconds() // 3600)}h"
