"""One sweep: the in-use scan, then every selected repository, each failure isolated to its repository."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from ecr_sweeper.constants import DELETE_BATCH_SIZE, DESCRIBE_IDS_SIZE, INDEX_MEDIA_TYPES
from ecr_sweeper.errors import describe_error
from ecr_sweeper.model import Action, Image, Protection, Repository, Verdict
from ecr_sweeper.outcome import RepositoryOutcome, Status, SweepSummary
from ecr_sweeper.planner import Plan, plan
from ecr_sweeper.policy import InvalidRetention, KeepForever, Retention, parse_retention
from ecr_sweeper.registry import EcrRegistry
from ecr_sweeper.report import DELETE_FAILED, DELETED, GONE, KEPT, WOULD_DELETE, Reporter
from ecr_sweeper.schedule import CursorStore, Deadline, NoCursor, rotate
from ecr_sweeper.settings import RunOptions, Settings
from ecr_sweeper.usage import InUse, UsageScanFailed

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
class Sweep:
    registry: EcrRegistry
    settings: Settings
    options: RunOptions
    # The time expiry is judged at: asOf for a forecast, else the invocation's start.
    now: datetime
    reporter: Reporter
    # Reads what the region's workloads run or will pull; None when in-use protection is off.
    scan_in_use: Callable[[], InUse] | None = None
    # Repositories swept at once. The registry's client is shared by the workers (botocore
    # clients are thread-safe) and its connection pool is sized to match.
    workers: int = 1
    deadline: Deadline = field(default_factory=Deadline)
    cursor: CursorStore = field(default_factory=NoCursor)

    def run(self) -> SweepSummary:
        summary = SweepSummary(
            dry_run=self.options.dry_run,
            as_of=self.options.as_of,
            deleting_starts=self.options.preview.deleting_starts if self.options.preview else None,
        )
        in_use = InUse()
        if self.scan_in_use is None:
            summary.in_use = "off"
            self.reporter.in_use_off()
        else:
            try:
                in_use = self.scan_in_use()
            except UsageScanFailed as error:
                # Without the full picture any digest might be running somewhere: delete nothing.
                summary.in_use = f"failed: {error}"
                self.reporter.in_use_failed(error)
                self.reporter.finished(summary)
                return summary
            self.reporter.in_use_found(in_use.count, in_use.by_family(), in_use.skipped)
            for cluster in in_use.ignored_clusters:
                self.reporter.eks_cluster_ignored(cluster)
            if in_use.inspector_unavailable:
                self.reporter.inspector_unavailable(in_use.inspector_unavailable)
        queue = self._selected(summary)
        not_started = self._sweep_all(queue, in_use, summary)
        summary.not_started = len(not_started)
        if self.options.repositories is None:
            self._remember_start(queue, not_started, summary)
        self.reporter.finished(summary)
        return summary

    def _sweep_all(self, queue: list[Repository], in_use: InUse, summary: SweepSummary) -> list[Repository]:
        """Sweep with at most `workers` repositories in flight; returns those never started."""
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="sweep") as pool:
            running: set[Future[RepositoryOutcome]] = set()
            for index, repository in enumerate(queue):
                while len(running) >= self.workers:
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    summary.outcomes.extend(future.result() for future in done)
                if not self.deadline.can_start_repository():
                    self.reporter.deadline_reached(len(queue) - index, repository.name)
                    for future in as_completed(running):
                        summary.outcomes.append(future.result())
                    return queue[index:]
                running.add(pool.submit(self.sweep_repository, repository, in_use))
            for future in as_completed(running):
                summary.outcomes.append(future.result())
        return []

    def _selected(self, summary: SweepSummary) -> list[Repository]:
        """The repositories to sweep, in this run's order.

        A failure to list repositories is not isolated: it propagates, and nothing is deleted.
        """
        listed = list(self.registry.repositories())
        if self.options.repositories is not None:
            wanted = set(self.options.repositories)
            existing = {repository.name for repository in listed}
            for name in self.options.repositories:
                if name not in existing:
                    outcome = RepositoryOutcome(
                        name,
                        status=Status.ERROR,
                        detail="RepositoryNotFound: named in the event, but not in this account and region",
                    )
                    self.reporter.repository(outcome)
                    summary.outcomes.append(outcome)
            return [repository for repository in listed if repository.name in wanted]
        by_name = {repository.name: repository for repository in listed}
        start = self._load_start()
        return [by_name[name] for name in rotate(list(by_name), start)]

    def _load_start(self) -> str:
        try:
            return self.cursor.load()
        except Exception as error:  # noqa: BLE001 - rotation is a convenience, never a reason to stop
            self.reporter.cursor_error("read", error)
            return ""

    def _remember_start(self, queue: list[Repository], not_started: list[Repository], summary: SweepSummary) -> None:
        """The next run starts with the first repository, in this run's order, that it did not finish."""
        unfinished = {o.repository for o in summary.outcomes if o.status is Status.DEFERRED}
        unfinished |= {repository.name for repository in not_started}
        start = next((repository.name for repository in queue if repository.name in unfinished), "")
        try:
            self.cursor.save(start)
        except Exception as error:  # noqa: BLE001 - as above
            self.reporter.cursor_error("write", error)
        summary.next_start = start

    def sweep_repository(self, repository: Repository, in_use: InUse | None = None) -> RepositoryOutcome:
        outcome = RepositoryOutcome(repository.name)
        with self.reporter.scope(repository.name):
            try:
                policy = self._policy(repository, outcome)
                if policy is not None:
                    self._sweep_images(repository, policy, outcome, in_use or InUse())
            except Exception as error:  # noqa: BLE001 - one repository's failure must not stop the rest
                outcome.status = Status.ERROR
                outcome.detail = describe_error(error)
                self.reporter.repository_error(repository.name, error)
            self.reporter.repository(outcome)
        return outcome

    def _policy(self, repository: Repository, outcome: RepositoryOutcome) -> Retention | None:
        """The repository's retention, or None when it is not to be swept (outcome says why)."""
        key = self.settings.retention_tag_key
        value = self.registry.tags(repository).get(key)
        if value is None:
            if self.settings.default_retention is None:
                outcome.status = Status.SKIPPED
                outcome.retention = "off"
                outcome.detail = f"no {key} tag, and the default retention is off (opt-in mode)"
                return None
            outcome.retention = str(self.settings.default_retention)
            return self.settings.default_retention
        try:
            policy = parse_retention(value)
        except InvalidRetention as error:
            outcome.status = Status.INVALID_TAG
            outcome.retention = value
            outcome.detail = f"retention tag {key}={value!r} is invalid ({error.why}); nothing deleted"
            self.reporter.invalid_tag(repository, key, value, error.why)
            return None
        outcome.retention = str(policy)
        if isinstance(policy, KeepForever):
            outcome.status = Status.SKIPPED
            outcome.detail = f"retention tag {key}={value!r}: nothing in this repository is ever deleted"
            return None
        return policy

    def _plan(self, repository: Repository, images: list[Image], policy: Retention, in_use: InUse) -> Planned:
        indexes = [image.digest for image in images if image.media_type in INDEX_MEDIA_TYPES]
        archived = {image.digest for image in images if image.archived}
        reads = OwnReads()
        children: dict[str, tuple[str, ...]] = {}
        if indexes:
            started = datetime.now(timezone.utc)
            children = self.registry.manifests(repository, indexes, archived=archived)
            reads = OwnReads(frozenset(indexes), started, datetime.now(timezone.utc))
        the_plan = plan(images, policy, self.now, children=children, in_use=in_use.digests, inspector=in_use.inspector)
        return Planned(the_plan, reads, children)

    def _sweep_images(
        self, repository: Repository, policy: Retention, outcome: RepositoryOutcome, in_use: InUse
    ) -> None:
        images = self.registry.images(repository)
        outcome.images_scanned = len(images)
        outcome.archived_images = sum(1 for image in images if image.archived)
        planned = self._plan(repository, images, policy, in_use)
        the_plan = planned.plan
        if the_plan.unread_indexes:
            self.reporter.archived_indexes_unreadable(repository, the_plan.unread_indexes)
        outcome.untagged_images = len(the_plan.verdicts)
        for verdict in the_plan.verdicts:
            if verdict.action is Action.KEEP:
                self._kept(repository, verdict.image, verdict.reason, verdict.protection, outcome)
        if self.options.dry_run:
            for verdict in the_plan.deletions:
                self.reporter.verdict(repository, verdict.image, WOULD_DELETE, verdict.reason, caveat=verdict.caveat)
                outcome.images_deleted += 1
                outcome.bytes_reclaimed += verdict.image.size_bytes
            return

        referenced = self._delete_waves(repository, planned, the_plan.waves, outcome, final=False)
        if referenced and outcome.status is not Status.DEFERRED:
            self._replan_and_retry(repository, policy, outcome, in_use, referenced)

    def _replan_and_retry(
        self,
        repository: Repository,
        policy: Retention,
        outcome: RepositoryOutcome,
        in_use: InUse,
        referenced: list[Verdict],
    ) -> None:
        """Digests an index still listed: plan once more on a fresh listing, then delete what is
        still due. What fails again is reported, never forced."""
        failed = {verdict.image.digest for verdict in referenced}
        fresh = self._plan(repository, self.registry.images(repository), policy, in_use)
        for verdict in fresh.plan.verdicts:
            if verdict.image.digest in failed and verdict.action is Action.KEEP:
                self._kept(repository, verdict.image, f"re-plan: {verdict.reason}", verdict.protection, outcome)
        waves = [[v for v in wave if v.image.digest in failed] for wave in fresh.plan.waves]
        self._delete_waves(repository, fresh, [wave for wave in waves if wave], outcome, final=True)

    def _delete_waves(
        self,
        repository: Repository,
        planned: Planned,
        waves: Sequence[Sequence[Verdict]],
        outcome: RepositoryOutcome,
        *,
        final: bool,
    ) -> list[Verdict]:
        """Delete wave after wave, 100 per call; returns what ECR refused as still referenced.

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
                left = sum(len(batch) for batch in batches[number:])
                outcome.status = Status.DEFERRED
                outcome.detail = f"deadline: {left} planned deletion(s) left for the next run"
                self.reporter.deadline_reached_in(repository.name, left)
                return []
            due = self._withhold(repository, batch_verdicts, held, outcome)
            batch = self._recheck(repository, due, outcome, planned, done)
            if batch:
                referenced += self._delete(repository, batch, outcome, planned, done, final=final)
            held |= {verdict.image.digest for verdict in batch_verdicts} - done
        return referenced

    def _withhold(
        self, repository: Repository, batch: Sequence[Verdict], held: set[str], outcome: RepositoryOutcome
    ) -> list[Verdict]:
        due = []
        for verdict in batch:
            subject = verdict.image.subject_digest
            if subject is not None and subject in held:
                self._kept(
                    repository,
                    verdict.image,
                    f"referrer of kept image {subject}: its subject was not deleted",
                    Protection.REFERRER,
                    outcome,
                    level_info=True,
                )
                held.add(verdict.image.digest)
            else:
                due.append(verdict)
        return due

    def _recheck(
        self,
        repository: Repository,
        batch: Sequence[Verdict],
        outcome: RepositoryOutcome,
        planned: Planned,
        done: set[str],
    ) -> list[Verdict]:
        """Describe the batch again just before deleting it: drop what changed since the plan.

        The subjects of orphan referrers are asked for in the same call: a referrer deleted because
        its subject is missing must not be deleted because of a stale listing.
        """
        digests = [verdict.image.digest for verdict in batch]
        absent = planned.plan.absent_subjects
        subjects = list(dict.fromkeys(absent[d] for d in digests if d in absent))
        room = DESCRIBE_IDS_SIZE - len(digests)
        current = self.registry.describe(repository, digests, likely_gone=subjects[:room])
        for start in range(room, len(subjects), DESCRIBE_IDS_SIZE):
            rest = subjects[start : start + DESCRIBE_IDS_SIZE]
            current.update(self.registry.describe(repository, [], likely_gone=rest))
        reads = planned.reads
        due = []
        for verdict in batch:
            now = current.get(verdict.image.digest)
            subject = absent.get(verdict.image.digest)
            if now is None:
                done.add(verdict.image.digest)
                self.reporter.verdict(
                    repository, verdict.image, GONE, "re-check: no longer in the repository; nothing to delete"
                )
            elif now.tags:
                self.reporter.verdict(
                    repository, now, KEPT, f"re-check: tagged {', '.join(now.tags)} since the plan", level_info=True
                )
            elif now.archived:
                self.reporter.verdict(
                    repository, now, KEPT, f"re-check: {now.status.lower()} since the plan", level_info=True
                )
            elif subject is not None and subject in current:
                self._kept(
                    repository,
                    now,
                    f"re-check: its subject {subject} exists, so it is not an orphan",
                    Protection.REFERRER,
                    outcome,
                    level_info=True,
                )
            elif (
                now.last_pulled_at is not None
                and (verdict.image.last_pulled_at is None or now.last_pulled_at > verdict.image.last_pulled_at)
                and not reads.explain(now.digest, now.last_pulled_at)
            ):
                self._kept(
                    repository,
                    now,
                    f"re-check: pulled at {now.last_pulled_at.isoformat()} since the plan",
                    Protection.PULL,
                    outcome,
                    level_info=True,
                )
            else:
                due.append(verdict)
        return due

    def _delete(
        self,
        repository: Repository,
        batch: Sequence[Verdict],
        outcome: RepositoryOutcome,
        planned: Planned,
        done: set[str],
        *,
        final: bool,
    ) -> list[Verdict]:
        by_digest = {verdict.image.digest: verdict for verdict in batch}
        result = self.registry.delete_batch(repository, list(by_digest))
        done.update(result.deleted)
        for digest in result.deleted:
            verdict = by_digest[digest]
            self.reporter.verdict(repository, verdict.image, DELETED, verdict.reason)
            outcome.images_deleted += 1
            outcome.bytes_reclaimed += verdict.image.size_bytes
        referenced = []
        for failure in result.failures:
            failed = by_digest.get(failure.digest)
            if failed is not None and failure.code == REFERENCED_BY_INDEX:
                if not final:
                    referenced.append(failed)
                    continue
                if not planned.has_visible_parent(failure.digest):
                    # Listed by an index the sweep cannot see (archived, or pushed since the
                    # listing): ECR keeps it, and that is protection, not a failure.
                    self._kept(
                        repository,
                        failed.image,
                        f"kept by ECR: {failure.code}: {failure.reason}".rstrip(": "),
                        Protection.INDEX,
                        outcome,
                        level_info=True,
                    )
                    continue
            if failed is not None and failure.code == NOT_FOUND:
                done.add(failure.digest)
                self.reporter.verdict(
                    repository, failed.image, GONE, f"ECR answered {NOT_FOUND}: already deleted; nothing to delete"
                )
                continue
            outcome.delete_failures += 1
            if failed is None:
                self.reporter.unexpected_failure(repository, failure)
                continue
            self.reporter.verdict(
                repository,
                failed.image,
                DELETE_FAILED,
                failed.reason,
                failure_code=failure.code,
                failure_reason=failure.reason,
            )
        return referenced

    def _kept(
        self,
        repository: Repository,
        image: Image,
        reason: str,
        protection: Protection | None,
        outcome: RepositoryOutcome,
        *,
        level_info: bool = False,
    ) -> None:
        self.reporter.verdict(repository, image, KEPT, reason, protection=protection, level_info=level_info)
        outcome.protect(protection)
