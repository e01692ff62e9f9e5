"""Pure decisions: a verdict with its reason for every untagged digest, and a safe deletion order.

An untagged digest is deleted only when it has expired and nothing protects it:
- a tagged image is never judged, and protects what it points at; so is an archived one;
- a digest that any workload runs, or will pull at its next scale-out, is kept ("in use by ...");
- a digest younger than the retention, or pulled within it, is kept;
- a digest listed in manifests[] of a kept index is kept, transitively ("child of kept index ...");
- a referrer (subjectManifestDigest) of a kept image is kept ("referrer of kept image ...");
  a referrer follows its subject: deleted with it, first; an orphan referrer expires on its own,
  once the sweep has checked again, just before deleting it, that its subject is really gone.
With a saved plan (`approved`), a digest is deleted only if that plan deleted it too: everything
else is kept, and protects what it lists and what refers to it.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from ecr_sweeper.core.constants import INDEX_MEDIA_TYPES
from ecr_sweeper.core.model import Action, Check, Image, Protection, Sighting, Use, Verdict
from ecr_sweeper.core.policy import Retention
from ecr_sweeper.core.rules import INDEX_CHILD, REFERRER, Facts, expired, follows_subject, own_rules

NOT_APPROVED = "not in the approved plan: only digests that plan deletes are deleted"


@dataclass(frozen=True)
class Plan:
    # One verdict per untagged digest, in listing order.
    verdicts: list[Verdict]
    # The WOULD_DELETE verdicts in waves: an index before its children and a referrer before its
    # subject, so that ECR never answers ImageReferencedByManifestList.
    waves: list[list[Verdict]] = field(default_factory=list)
    # Referrer -> its subject, for each referrer whose subject is not in the listing: deleting it
    # would be justified by an absence, so the re-check asks ECR for the subject once more.
    absent_subjects: Mapping[str, str] = field(default_factory=dict)
    # Archived indexes whose manifest could not be read: what they list is unknown.
    unread_indexes: tuple[str, ...] = ()
    # Untagged indexes whose manifest the caller chose not to read (reading records a pull).
    not_read: tuple[str, ...] = ()
    # With plan(trace=True): every rule checked for every digest, tagged and archived ones too.
    trace: Mapping[str, tuple[Check, ...]] = field(default_factory=dict)

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
    trace: bool = False,
    approved: Collection[str] | None = None,
    not_read: Collection[str] = (),
) -> Plan:
    """`in_use` maps digests to the workloads that use them, whatever repository they named:
    digests are content hashes, so a digest in use is the same image in every repository. None
    means that nothing was scanned (PROTECT_IN_USE=false). With `trace`, the plan also carries
    every rule checked for every digest; the verdicts are the same either way.

    `approved`: the digests a saved plan deletes; any other one is kept ("not in the approved
    plan"). `not_read`: indexes whose manifests were not read on purpose (in `children` or not):
    what they list is unknown, and each deletion says so in its caveat."""
    children = children or {}
    facts = Facts(retention, now, in_use, inspector or {})
    present = {image.digest: image for image in images}
    referrers: dict[str, list[str]] = defaultdict(list)
    for image in images:
        if follows_subject(image, present):
            referrers[image.subject_digest].append(image.digest)  # type: ignore[index]

    decided: dict[str, Verdict] = {}
    checks: dict[str, list[Check]] = {}
    kept: list[str] = []
    for image in images:
        found = own_rules(image, facts, present, trace)
        if trace:
            checks[image.digest] = [f.check for f in found if f.check is not None]
        keep = next((f.keep for f in found if f.keep is not None), None)
        if keep is None and approved is not None and _candidate(image) and image.digest not in approved:
            keep = Verdict(image, Action.KEPT, NOT_APPROVED)
        if image.tags or image.archived:
            kept.append(image.digest)
        elif keep is not None:
            decided[image.digest] = keep
            kept.append(image.digest)
        elif not follows_subject(image, present):
            decided[image.digest] = expired(image, retention, now)

    # Whatever is kept protects the manifests it lists and the referrers that describe it.
    protected = set(kept)
    queue = deque(kept)
    while queue:
        parent = queue.popleft()
        for digest, reason, protection in _protects(parent, children, referrers):
            if digest in present and digest not in protected:
                protected.add(digest)
                if _candidate(present[digest]):
                    decided[digest] = Verdict(present[digest], Action.KEPT, reason, protection)
                queue.append(digest)

    for image in images:
        if _candidate(image) and image.digest not in decided:
            # A referrer whose subject is not kept goes with its subject.
            decided[image.digest] = Verdict(
                image, Action.WOULD_DELETE, f"referrer of deleted image {image.subject_digest}"
            )

    unread = tuple(
        i.digest for i in images if i.archived and i.media_type in INDEX_MEDIA_TYPES and i.digest not in children
    )
    skipped = tuple(digest for digest in dict.fromkeys(not_read) if digest in present)
    caveats = _caveats(unread, decided) | _not_read_caveats(skipped, decided)
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
        if v.action is Action.WOULD_DELETE
        and v.image.subject_digest is not None
        and v.image.subject_digest != v.image.digest
        and v.image.subject_digest not in present
    }
    traced = {}
    if trace:
        graph = _graph_checks(images, present, children, protected, decided)
        traced = {digest: (*own, *graph[digest]) for digest, own in checks.items()}
    return Plan(verdicts, _waves(verdicts, children, referrers, set(caveats)), absent, unread, skipped, traced)


def _graph_checks(
    images: Sequence[Image],
    present: Mapping[str, Image],
    children: Mapping[str, Sequence[str]],
    protected: Collection[str],
    decided: Mapping[str, Verdict],
) -> dict[str, tuple[Check, Check]]:
    """The index and referrer rules of the trace: who lists or describes each digest, and what
    became of them."""
    parents: dict[str, list[str]] = defaultdict(list)
    for index, listed in children.items():
        for child in listed:
            parents[child].append(index)

    def state(digest: str) -> str:
        other = present[digest]
        if other.tags:
            return f"kept: tagged {', '.join(other.tags)}"
        if other.archived:
            return f"kept: {other.status.lower()}"
        verdict = decided.get(digest)
        return f"{verdict.action.value}: {verdict.reason}" if verdict else "unknown"

    traced: dict[str, tuple[Check, Check]] = {}
    for image in images:
        listing = [p for p in parents.get(image.digest, ()) if p in present]
        listed_by = Check(
            INDEX_CHILD,
            any(p in protected for p in listing),
            "; ".join(f"{p} ({state(p)})" for p in listing) or "no index in the repository lists it",
        )
        subject = image.subject_digest
        if subject is None or subject == image.digest:
            refers = Check(REFERRER, False, "not a referrer")
        elif subject in present:
            refers = Check(REFERRER, subject in protected, f"{subject} ({state(subject)})")
        else:
            refers = Check(REFERRER, False, f"{subject} (gone: an orphan)")
        traced[image.digest] = (listed_by, refers)
    return traced


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
    doomed = {digest for digest, verdict in decided.items() if verdict.action is Action.WOULD_DELETE}
    listed = ", ".join(unread[:3]) + (f" and {len(unread) - 3} more" if len(unread) > 3 else "")
    caveat = (
        f"archived index {listed} may list it (ECR serves no archived manifest); "
        "if so ECR refuses the delete and it is kept"
    )
    return dict.fromkeys(doomed, caveat)


def _not_read_caveats(not_read: Sequence[str], decided: Mapping[str, Verdict]) -> dict[str, str]:
    """Deletions that an index whose manifest was not read may forbid (see `_caveats`). The index
    itself may go; what it lists, ECR refuses to delete, and the sweep then reports it kept."""
    if not not_read:
        return {}
    skipped = set(not_read)
    doomed = {d for d, v in decided.items() if v.action is Action.WOULD_DELETE and d not in skipped}
    listed = ", ".join(not_read[:3]) + (f" and {len(not_read) - 3} more" if len(not_read) > 3 else "")
    caveat = (
        f"unverified: untagged index {listed} was not read (reading it records a pull) and may list it; "
        "if so ECR refuses the delete and it is kept"
    )
    return dict.fromkeys(doomed, caveat)


def _candidate(image: Image) -> bool:
    """Judged by the sweep: untagged and active. An archived image is neither judged nor deleted."""
    return image.untagged and not image.archived


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
    doomed = {v.image.digest: v for v in verdicts if v.action is Action.WOULD_DELETE}
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
