"""One sweep: every selected repository in turn, each failure isolated to its repository."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from ecr_sweeper.constants import DELETE_BATCH_SIZE
from ecr_sweeper.model import Action, Repository, Verdict
from ecr_sweeper.outcome import RepositoryOutcome, Status, SweepSummary
from ecr_sweeper.planner import plan
from ecr_sweeper.policy import InvalidRetention, KeepForever, Retention, parse_retention
from ecr_sweeper.registry import EcrRegistry
from ecr_sweeper.report import DELETE_FAILED, DELETED, KEPT, WOULD_DELETE, Reporter, describe_error
from ecr_sweeper.settings import RunOptions, Settings


@dataclass(frozen=True)
class Sweep:
    registry: EcrRegistry
    settings: Settings
    options: RunOptions
    # The time expiry is judged at: asOf for a forecast, else the invocation's start.
    now: datetime
    reporter: Reporter

    def run(self) -> SweepSummary:
        summary = SweepSummary(dry_run=self.options.dry_run, as_of=self.options.as_of)
        for repository in self._selected(summary):
            summary.outcomes.append(self.sweep_repository(repository))
        self.reporter.finished(summary)
        return summary

    def _selected(self, summary: SweepSummary) -> Iterator[Repository]:
        # A failure to list repositories is not isolated: it propagates, and nothing is deleted.
        wanted = set(self.options.repositories or ())
        for repository in self.registry.repositories():
            if not wanted or repository.name in wanted:
                wanted.discard(repository.name)
                yield repository
        for name in self.options.repositories or ():
            if name in wanted:
                outcome = RepositoryOutcome(
                    name,
                    status=Status.ERROR,
                    detail="RepositoryNotFound: named in the event, but not in this account and region",
                )
                self.reporter.repository(outcome)
                summary.outcomes.append(outcome)

    def sweep_repository(self, repository: Repository) -> RepositoryOutcome:
        outcome = RepositoryOutcome(repository.name)
        try:
            policy = self._policy(repository, outcome)
            if policy is not None:
                self._sweep_images(repository, policy, outcome)
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

    def _sweep_images(self, repository: Repository, policy: Retention, outcome: RepositoryOutcome) -> None:
        images = self.registry.images(repository)
        outcome.images_scanned = len(images)
        verdicts = plan(images, policy, self.now)
        outcome.untagged_images = len(verdicts)
        expired = []
        for verdict in verdicts:
            if verdict.action is Action.KEEP:
                self.reporter.verdict(repository, verdict.image, KEPT, verdict.reason)
            else:
                expired.append(verdict)
        if self.options.dry_run:
            for verdict in expired:
                self.reporter.verdict(repository, verdict.image, WOULD_DELETE, verdict.reason)
                outcome.images_deleted += 1
                outcome.bytes_reclaimed += verdict.image.size_bytes
            return
        for start in range(0, len(expired), DELETE_BATCH_SIZE):
            self._delete(repository, expired[start : start + DELETE_BATCH_SIZE], outcome)

    def _delete(self, repository: Repository, batch: Sequence[Verdict], outcome: RepositoryOutcome) -> None:
        by_digest = {verdict.image.digest: verdict for verdict in batch}
        result = self.registry.delete_batch(repository, list(by_digest))
        for digest in result.deleted:
            verdict = by_digest[digest]
            self.reporter.verdict(repository, verdict.image, DELETED, verdict.reason)
            outcome.images_deleted += 1
            outcome.bytes_reclaimed += verdict.image.size_bytes
        for failure in result.failures:
            outcome.delete_failures += 1
            failed = by_digest.get(failure.digest)
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
