"""One repository: its policy, its plan, then (unless a dry run) re-check, delete in waves, re-plan.

Returns what it decided and did as a RepositoryResult, one final verdict per untagged digest. Each
failure is isolated to this repository. ECR calls go through registry.py; decisions are the planner's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from ecr_sweeper.aws.registry import EcrRegistry
from ecr_sweeper.core.constants import DELETE_BATCH_SIZE, DESCRIBE_IDS_SIZE, INDEX_MEDIA_TYPES
from ecr_sweeper.core.deadline import Deadline
from ecr_sweeper.core.errors import describe_error
from ecr_sweeper.core.model import Action, Image, Protection, Repository, Sighting, Use, Verdict
from ecr_sweeper.core.outcome import (
    ArchivedIndexesUnread,
    DeadlineCut,
    IndexesNotRead,
    InvalidTag,
    RepositoryFailed,
    RepositoryOutcome,
    RepositoryResult,
    Status,
    UnexpectedFailure,
)
from ecr_sweeper.core.planner import Plan, plan
from ecr_sweeper.core.policy import Retention, repository_policy

REFERENCED_BY_INDEX = "ImageReferencedByManifestList"
# A delete answered with ImageNotFound: the digest is gone already (a retried call whose first
# response was lost, or a concurrent delete). Nothing failed.
NOT_FOUND = "ImageNotFound"
# Clock difference tolerated between this function and ECR when matching a recorded pull to the
# sweep's own manifest read.
OWN_READ_SKEW = timedelta(seconds=5)


@dataclass(frozen=True)
class OwnReads:
    """The index manifests this sweep read with BatchGetImage, and when.

    Reading a manifest is a pull. With the function's role registered as a pull-time update
    exclusion ECR records nothing; without it (another role, the exclusion missing) ECR records a
    pull at the time of the read, and the re-check must not take the sweep's own read for a user's.
    """

    digests: frozenset[str] = frozenset()
    started: datetime | None = None
    finished: datetime | None = None

    def explain(self, digest: str, pulled_at: datetime) -> bool:
        if digest not in self.digests or self.started is None or self.finished is None:
            return False
        return self.started - OWN_READ_SKEW <= pulled_at <= self.finished + OWN_READ_SKEW


@dataclass(frozen=True)
class Planned:
    plan: Plan
    reads: OwnReads
    # Index -> the manifests it lists, for every index whose manifest could be read.
    children: dict[str, tuple[str, ...]]

    def has_visible_parent(self, digest: str) -> bool:
        return any(digest in listed for listed in self.children.values())


@dataclass(frozen=True)
class Judgement:
    """What every repository of a run is judged with."""

    retention_tag_key: str
    default_retention: Retention | None
    # The time expiry is judged at: asOf for a forecast, else the run's start.
    now: datetime
    dry_run: bool
    # Digest -> the workloads using it; None when in-use protection is off.
    in_use: Mapping[str, Sequence[Use]] | None = None
    inspector: Mapping[str, Sighting] | None = None
    # Keep the planner's rules for every digest in the result (`ecr-sweeper explain`).
    trace: bool = False
    # A saved plan: repository -> the digests it deletes, as planned. Only those may be deleted.
    approved: Mapping[str, Mapping[str, Image]] | None = None
    # False: do not read untagged indexes' manifests (the reader is not a pull-time update
    # exclusion, and a read would keep the index alive); what they list is then unverified.
    read_untagged_indexes: bool = True


@dataclass
class RepositorySweep:
    registry: EcrRegistry
    judgement: Judgement
    deadline: Deadline
    repository: Repository
    # Told each verdict of the deletions as it is reached.
    on_verdict: Callable[[str, Verdict], None] | None = None

    def run(self) -> RepositoryResult:
        self.result = RepositoryResult(RepositoryOutcome(self.repository.name))
        try:
            retention = self._retention()
            if retention is not None:
                self._sweep(retention)
        except Exception as error:  # noqa: BLE001 - one repository's failure must not stop the rest
            self.result.outcome.status = Status.ERROR
            self.result.outcome.detail = describe_error(error)
            self.result.notice(RepositoryFailed(error))
        return self.result

    def _retention(self) -> Retention | None:
        """The repository's retention, or None when it is not to be swept (the outcome says why)."""
        judgement, outcome = self.judgement, self.result.outcome
        policy = repository_policy(
            self.registry.tags(self.repository), judgement.retention_tag_key, judgement.default_retention
        )
        outcome.retention = policy.shown
        if policy.invalid is not None:
            outcome.status = Status.INVALID_TAG
            self.result.notice(InvalidTag(judgement.retention_tag_key, policy.invalid.value, policy.invalid.why))
        elif policy.retention is None:
            outcome.status = Status.SKIPPED
        outcome.detail = policy.detail
        return policy.retention

    def _plan(self, images: list[Image], retention: Retention) -> Planned:
        not_read = self._not_read(images)
        indexes = [
            image.digest for image in images if image.media_type in INDEX_MEDIA_TYPES and image.digest not in not_read
        ]
        archived = {image.digest for image in images if image.archived}
        reads = OwnReads()
        children: dict[str, tuple[str, ...]] = {}
        if indexes:
            started = datetime.now(timezone.utc)
            children = self.registry.manifests(self.repository, indexes, archived=archived)
            reads = OwnReads(frozenset(indexes), started, datetime.now(timezone.utc))
        judgement = self.judgement
        the_plan = plan(
            images,
            retention,
            judgement.now,
            children=children,
            in_use=judgement.in_use,
            inspector=judgement.inspector,
            trace=judgement.trace,
            approved=self._approved().keys() if judgement.approved is not None else None,
            not_read=not_read,
        )
        return Planned(the_plan, reads, children)

    def _not_read(self, images: list[Image]) -> tuple[str, ...]:
        if self.judgement.read_untagged_indexes:
            return ()
        return tuple(
            image.digest
            for image in images
            if image.media_type in INDEX_MEDIA_TYPES and image.untagged and not image.archived
        )

    def _approved(self) -> Mapping[str, Image]:
        return (self.judgement.approved or {}).get(self.repository.name, {})

    def _sweep(self, retention: Retention) -> None:
        outcome = self.result.outcome
        images = self.registry.images(self.repository)
        outcome.images_scanned = len(images)
        outcome.archived_images = sum(1 for image in images if image.archived)
        planned = self._plan(images, retention)
        the_plan = planned.plan
        self.result.trace = the_plan.trace
        if self.judgement.trace:
            self.result.images = {image.digest: image for image in images}
        if the_plan.unread_indexes:
            self.result.notice(ArchivedIndexesUnread(the_plan.unread_indexes))
        if the_plan.not_read:
            self.result.notice(IndexesNotRead(the_plan.not_read))
        outcome.untagged_images = len(the_plan.verdicts)
        approved = self._approved() if self.judgement.approved is not None else None
        for verdict in the_plan.verdicts:
            if verdict.action is Action.KEPT:
                if approved is not None and verdict.image.digest in approved:
                    verdict = replace(verdict, reason=f"in the approved plan, not due now: {verdict.reason}", late=True)
                self.result.verdict(verdict)
        if approved is not None:
            self._approved_elsewhere(approved, images)
        if self.judgement.dry_run:
            for verdict in the_plan.deletions:
                self.result.verdict(verdict)
            return
        self.result.on_verdict = self.on_verdict
        referenced = self._delete_waves(planned, the_plan.waves, final=False)
        if referenced and outcome.status is not Status.DEFERRED:
            self._replan_and_retry(retention, referenced)
        elif referenced:
            # Refused as still listed by an index, and no time left to plan again.
            for verdict in referenced:
                self._defer(verdict)

    def _approved_elsewhere(self, approved: Mapping[str, Image], images: list[Image]) -> None:
        """A verdict for each approved digest that is no longer an untagged candidate: gone from
        the repository, tagged or archived since the plan was saved."""
        listed = {image.digest: image for image in images}
        for digest, planned in approved.items():
            now = listed.get(digest)
            if now is None:
                self.result.verdict(
                    Verdict(
                        planned, Action.GONE, "in the approved plan, no longer in the repository; nothing to delete"
                    )
                )
            elif now.tags or now.archived:
                self.result.verdict(Verdict(now, Action.KEPT, f"in the approved plan, {_change(now)} since", late=True))

    def _replan_and_retry(self, retention: Retention, referenced: list[Verdict]) -> None:
        """Digests an index still listed: plan once more on a fresh listing, then delete what is
        still due. What fails again is reported, never forced."""
        failed = {verdict.image.digest for verdict in referenced}
        images = self.registry.images(self.repository)
        fresh = self._plan(images, retention)
        settled = set()
        for verdict in fresh.plan.verdicts:
            if verdict.image.digest in failed and verdict.action is Action.KEPT:
                self.result.verdict(replace(verdict, reason=f"re-plan: {verdict.reason}"))
                settled.add(verdict.image.digest)
        waves = [[v for v in wave if v.image.digest in failed] for wave in fresh.plan.waves]
        settled |= {v.image.digest for wave in waves for v in wave}
        self._delete_waves(fresh, [wave for wave in waves if wave], final=True)
        listed = {image.digest: image for image in images}
        for verdict in referenced:
            digest = verdict.image.digest
            if digest in settled:
                continue
            now = listed.get(digest)
            if now is None:
                self.result.verdict(
                    _became(verdict, Action.GONE, "re-plan: no longer in the repository; nothing to delete")
                )
            else:
                # No longer a candidate: tagged or archived since the first plan.
                self.result.verdict(Verdict(now, Action.KEPT, f"re-plan: {_change(now)} since the plan", late=True))

    def _delete_waves(self, planned: Planned, waves: Sequence[Sequence[Verdict]], *, final: bool) -> list[Verdict]:
        """Delete wave after wave, 100 per call; returns what ECR refused as still referenced
        (always empty when `final`: then a refusal is reported as it is).

        A referrer whose subject is still there after its wave (kept by the re-check, refused or
        failed) is not deleted: a signature of a kept image stays with it.
        """
        referenced: list[Verdict] = []
        # Deleted, or found gone, in this run; and what was meant to go but is still there.
        done: set[str] = set()
        held: set[str] = set()
        batches = [
            wave[start : start + DELETE_BATCH_SIZE]
            for wave in waves
            for start in range(0, len(wave), DELETE_BATCH_SIZE)
        ]
        for number, batch_verdicts in enumerate(batches):
            if not self.deadline.can_start_batch():
                left = [verdict for batch in batches[number:] for verdict in batch]
                outcome = self.result.outcome
                outcome.status = Status.DEFERRED
                outcome.detail = f"{self.deadline.why}: {len(left)} planned deletion(s) {self.deadline.leaves}"
                self.result.notice(DeadlineCut(len(left)))
                for verdict in left:
                    self._defer(verdict)
                return referenced
            due = self._withhold(batch_verdicts, held)
            batch = self._recheck(due, planned, done)
            if batch:
                referenced += self._delete(batch, planned, done, final=final)
            held |= {verdict.image.digest for verdict in batch_verdicts} - done
        return referenced

    def _defer(self, verdict: Verdict) -> None:
        refused = f"; ECR answered {verdict.failure.code}" if verdict.failure else ""
        self.result.verdict(
            replace(
                verdict,
                action=Action.DEFERRED,
                reason=f"{self.deadline.why}: {self.deadline.leaves}{refused} ({verdict.reason})",
                caveat=None,
                failure=None,
            )
        )

    def _withhold(self, batch: Sequence[Verdict], held: set[str]) -> list[Verdict]:
        due = []
        for verdict in batch:
            subject = verdict.image.subject_digest
            if subject is not None and subject in held:
                self._kept(
                    verdict.image, f"referrer of kept image {subject}: its subject was not deleted", Protection.REFERRER
                )
                held.add(verdict.image.digest)
            else:
                due.append(verdict)
        return due

    def _recheck(self, batch: Sequence[Verdict], planned: Planned, done: set[str]) -> list[Verdict]:
        """Describe the batch again just before deleting it: drop what changed since the plan.

        The subjects of orphan referrers are asked for in the same call: a referrer deleted because
        its subject is missing must not be deleted because of a stale listing.
        """
        digests = [verdict.image.digest for verdict in batch]
        absent = planned.plan.absent_subjects
        subjects = list(dict.fromkeys(absent[d] for d in digests if d in absent))
        room = DESCRIBE_IDS_SIZE - len(digests)
        current = self.registry.describe(self.repository, digests, likely_gone=subjects[:room])
        for start in range(room, len(subjects), DESCRIBE_IDS_SIZE):
            rest = subjects[start : start + DESCRIBE_IDS_SIZE]
            current.update(self.registry.describe(self.repository, [], likely_gone=rest))
        due = []
        for verdict in batch:
            now = current.get(verdict.image.digest)
            subject = absent.get(verdict.image.digest)
            if now is None:
                done.add(verdict.image.digest)
                self.result.verdict(
                    _became(verdict, Action.GONE, "re-check: no longer in the repository; nothing to delete")
                )
            elif now.tags or now.archived:
                self.result.verdict(Verdict(now, Action.KEPT, f"re-check: {_change(now)} since the plan", late=True))
            elif subject is not None and subject in current:
                self._kept(now, f"re-check: its subject {subject} exists, so it is not an orphan", Protection.REFERRER)
            elif (
                now.last_pulled_at is not None
                and (verdict.image.last_pulled_at is None or now.last_pulled_at > verdict.image.last_pulled_at)
                and not planned.reads.explain(now.digest, now.last_pulled_at)
            ):
                self._kept(now, f"re-check: pulled at {now.last_pulled_at.isoformat()} since the plan", Protection.PULL)
            else:
                due.append(verdict)
        return due

    def _delete(self, batch: Sequence[Verdict], planned: Planned, done: set[str], *, final: bool) -> list[Verdict]:
        by_digest = {verdict.image.digest: verdict for verdict in batch}
        response = self.registry.delete_batch(self.repository, list(by_digest))
        done.update(response.deleted)
        for digest in response.deleted:
            verdict = by_digest[digest]
            self.result.verdict(_became(verdict, Action.DELETED, verdict.reason))
        referenced = []
        for failure in response.failures:
            failed = by_digest.get(failure.digest)
            if failed is None:
                self.result.notice(UnexpectedFailure(failure))
                continue
            if failure.code == REFERENCED_BY_INDEX:
                if not final:
                    referenced.append(replace(failed, failure=failure))
                    continue
                if not planned.has_visible_parent(failure.digest):
                    # Listed by an index the sweep cannot see (archived, or pushed since the
                    # listing): ECR keeps it, and that is protection, not a failure.
                    self._kept(
                        failed.image, f"kept by ECR: {failure.code}: {failure.reason}".rstrip(": "), Protection.INDEX
                    )
                    continue
            if failure.code == NOT_FOUND:
                done.add(failure.digest)
                self.result.verdict(
                    _became(failed, Action.GONE, f"ECR answered {NOT_FOUND}: already deleted; nothing to delete")
                )
                continue
            self.result.verdict(replace(_became(failed, Action.DELETE_FAILED, failed.reason), failure=failure))
        return referenced

    def _kept(self, image: Image, reason: str, protection: Protection) -> None:
        """A keep decided at the last moment: a planned deletion that does not happen."""
        self.result.verdict(Verdict(image, Action.KEPT, reason, protection, late=True))


def _became(planned: Verdict, action: Action, reason: str) -> Verdict:
    """A planned deletion's final verdict. The plan's caveat (ECR may refuse it) is settled now."""
    return replace(planned, action=action, reason=reason, caveat=None, failure=None)


def _change(image: Image) -> str:
    """What made a planned deletion no longer an untagged, active candidate: a tag, or the archive."""
    return f"tagged {', '.join(image.tags)}" if image.tags else image.status.lower()
