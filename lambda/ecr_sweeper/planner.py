"""Pure decisions: a verdict with its reason for every untagged digest, and a safe deletion order.

An untagged digest is deleted only when it has expired and nothing protects it:
- a tagged image is never judged, and protects what it points at; so is an archived one;
- a digest that any workload runs, or will pull at its next scale-out, is kept ("in use by ...");
- a digest younger than the retention, or pulled within it, is kept;
- a digest listed in manifests[] of a kept index is kept, transitively ("child of kept index ...");
- a referrer (subjectManifestDigest) of a kept image is kept ("referrer of kept image ...");
  a referrer follows its subject: deleted with it, first; an orphan referrer expires on its own,
  once the sweep has checked again, just before deleting it, that its subject is really gone.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from ecr_sweeper.constants import INDEX_MEDIA_TYPES
from ecr_sweeper.model import Action, Image, Protection, Sighting, Use, Verdict
from ecr_sweeper.policy import Retention


@dataclass(frozen=True)
class Plan:
    # One verdict per untagged digest, in listing order.
    verdicts: list[Verdict]
    # The DELETE verdicts in waves: an index before its children and a referrer before its
    # subject, so that ECR never answers ImageReferencedByManifestList.
    waves: list[list[Verdict]] = field(default_factory=list)
    # Referrer -> its subject, for each referrer whose subject is not in the listing: deleting it
    # would be justified by an absence, so the re-check asks ECR for the subject once more.
    absent_subjects: Mapping[str, str] = field(default_factory=dict)
    # Archived indexes whose manifest could not be read: what they list is unknown.
    unread_indexes: tuple[str, ...] = ()

    @property
    def deletions(self) -> list[Verdict]:
        return [verdict for wave in self.waves for verdict in wave]


def plan(
    images: Sequence[Image],
    retention: Retention,
    now: datetime,
    *,
    children: Mapping[str, Sequence[str]] | None = None,
    in_use: Mapping[str, Sequence[Use]] | None = None,
    inspector: Mapping[str, Sighting] | None = None,
) -> Plan:
    """`in_use` maps digests to the workloads that use them, whatever repository they named:
    digests are content hashes, so a digest in use is the same image in every repository."""
    children = children or {}
    in_use = in_use or {}
    inspector = inspector or {}
    present = {image.digest: image for image in images}
    referrers: dict[str, list[str]] = defaultdict(list)
    for image in images:
        if _follows_subject(image, present):
            referrers[image.subject_digest].append(image.digest)  # type: ignore[index]

    decided: dict[str, Verdict] = {}
    kept: list[str] = []
    for image in images:
        if image.tags or image.archived:
            kept.append(image.digest)
            continue
        users = tuple(in_use.get(image.digest, ()))
        seen = _seen_in_use(inspector.get(image.digest), retention, now)
        if users:
            decided[image.digest] = Verdict(image, Action.KEEP, f"in use by {users[0]}", users[0].family, users)
        elif seen:
            decided[image.digest] = Verdict(image, Action.KEEP, seen, Protection.INSPECTOR)
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
                if _candidate(present[digest]):
                    decided[digest] = Verdict(present[digest], Action.KEEP, reason, protection)
                queue.append(digest)

    for image in images:
        if _candidate(image) and image.digest not in decided:
            # A referrer whose subject is not kept goes with its subject.
            decided[image.digest] = Verdict(image, Action.DELETE, f"referrer of deleted image {image.subject_digest}")

    unread = tuple(
        i.digest for i in images if i.archived and i.media_type in INDEX_MEDIA_TYPES and i.digest not in children
    )
    caveats = _caveats(unread, decided)
    verdicts = [
        replace(decided[image.digest], caveat=caveats[image.digest])
        if image.digest in caveats
        else decided[image.digest]
        for image in images
        if _candidate(image)
    ]
    absent = {
        v.image.digest: v.image.subject_digest
        for v in verdicts
        if v.action is Action.DELETE
        and v.image.subject_digest is not None
        and v.image.subject_digest != v.image.digest
        and v.image.subject_digest not in present
    }
    return Plan(verdicts, _waves(verdicts, children, referrers, set(caveats)), absent, unread)


def _seen_in_use(sighting: Sighting | None, retention: Retention, now: datetime) -> str | None:
    """Amazon Inspector's reason to keep a digest: something runs it now, or ran it within the
    retention window (lastInUseAt counts like a pull)."""
    if sighting is None:
        return None
    if sighting.in_use_count > 0:
        return f"in use per amazon inspector: {sighting.in_use_count} running task(s) or pod(s)"
    if sighting.last_in_use_at is not None and now - sighting.last_in_use_at < retention.window:
        return (
            f"in use per amazon inspector: last in use {_ago(now - sighting.last_in_use_at)} ago, retention {retention}"
        )
    return None


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


def _caveats(unread: Sequence[str], decided: Mapping[str, Verdict]) -> dict[str, str]:
    """Deletions that an `unread` archived index may forbid, and why.

    ECR serves no manifest of an archived image, so what such an index lists is unknown here, and
    ECR refuses to delete what it lists. Push times do not narrow it down: a restored image "behaves
    like a newly pushed image" (ECR user guide, "Archiving an image in Amazon ECR"). The plan keeps
    these deletions and says so, so that a dry run never promises one that ECR may refuse; the
    referrers of such a digest wait for it: they are deleted after it, and only if it is.
    """
    if not unread:
        return {}
    doomed = {digest for digest, verdict in decided.items() if verdict.action is Action.DELETE}
    listed = ", ".join(unread[:3]) + (f" and {len(unread) - 3} more" if len(unread) > 3 else "")
    caveat = (
        f"archived index {listed} may list it (ECR serves no archived manifest); "
        "if so ECR refuses the delete and it is kept"
    )
    return dict.fromkeys(doomed, caveat)


def _candidate(image: Image) -> bool:
    """Judged by the sweep: untagged and active. An archived image is neither judged nor deleted."""
    return image.untagged and not image.archived


def _follows_subject(image: Image, present: Mapping[str, Image]) -> bool:
    return image.subject_digest is not None and image.subject_digest != image.digest and image.subject_digest in present


def _protects(
    parent: str, children: Mapping[str, Sequence[str]], referrers: Mapping[str, Sequence[str]]
) -> Iterable[tuple[str, str, Protection]]:
    for child in children.get(parent, ()):
        yield child, f"child of kept index {parent}", Protection.INDEX
    for referrer in referrers.get(parent, ()):
        yield referrer, f"referrer of kept image {parent}", Protection.REFERRER


def _waves(
    verdicts: Sequence[Verdict],
    children: Mapping[str, Sequence[str]],
    referrers: Mapping[str, Sequence[str]],
    doubtful: Collection[str] = (),
) -> list[list[Verdict]]:
    doomed = {v.image.digest: v for v in verdicts if v.action is Action.DELETE}
    # Who must be deleted before a digest: the indexes that list it and the referrers of it; but a
    # `doubtful` subject, which ECR may refuse to delete, goes before its referrers.
    before: dict[str, list[str]] = defaultdict(list)
    for index, listed in children.items():
        if index in doomed:
            for child in listed:
                before[child].append(index)
    for subject, refs in referrers.items():
        for ref in refs:
            if ref not in doomed:
                continue
            if subject in doubtful:
                before[ref].append(subject)
            else:
                before[subject].append(ref)

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
