"""What a sweep did, as values: per digest, per repository and in total.

The sweep hands each repository's result, and each run-level event, to a Listener; report.py
renders them as log records and metrics, and the command-line tool as tables or JSON. The summary
is the return value and the source of the metrics.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from ecr_sweeper.core.constants import MAX_SUMMARY_REPOSITORIES
from ecr_sweeper.core.model import Action, Check, DeleteFailure, Image, Protection, Verdict


class Status(enum.Enum):
    SWEPT = "swept"
    # The retention tag says off/never/keep, or the repository has no tag in opt-in mode.
    SKIPPED = "skipped"
    INVALID_TAG = "invalid_tag"
    ERROR = "error"
    # Started, but the invocation's deadline came before every planned deletion was made.
    DEFERRED = "deferred"


@dataclass
class RepositoryOutcome:
    repository: str
    status: Status = Status.SWEPT
    retention: str | None = None
    images_scanned: int = 0
    untagged_images: int = 0
    # Archived (or being restored): listed and protecting, never judged or deleted.
    archived_images: int = 0
    # In a dry run: the digests that would be deleted, and their bytes.
    images_deleted: int = 0
    bytes_reclaimed: int = 0
    delete_failures: int = 0
    # Untagged digests kept, in all and per protection family (Age, Pull, Index, ...).
    images_protected: int = 0
    protected_by: Counter[str] = field(default_factory=Counter)
    detail: str | None = None
    region: str | None = None

    def protect(self, protection: Protection) -> None:
        self.images_protected += 1
        self.protected_by[protection.value] += 1

    def to_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "repository": self.repository,
            "status": self.status.value,
            "retention": self.retention,
            "imagesScanned": self.images_scanned,
            "untaggedImages": self.untagged_images,
            "archivedImages": self.archived_images,
            "imagesDeleted": self.images_deleted,
            "bytesReclaimed": self.bytes_reclaimed,
            "deleteFailures": self.delete_failures,
            "imagesProtected": self.images_protected,
        }
        if self.detail:
            entry["detail"] = self.detail
        if self.region:
            entry["region"] = self.region
        return entry

    @property
    def noteworthy(self) -> bool:
        return self.status in (Status.ERROR, Status.INVALID_TAG, Status.DEFERRED) or bool(
            self.delete_failures or self.images_deleted
        )

    def count(self, verdict: Verdict) -> None:
        """Add one final verdict to the totals (a dry run counts what it would delete)."""
        if verdict.action in (Action.DELETED, Action.WOULD_DELETE):
            self.images_deleted += 1
            self.bytes_reclaimed += verdict.image.size_bytes
        elif verdict.action is Action.KEPT and verdict.protection is not None:
            # A digest tagged or archived since the plan is no longer an untagged one kept.
            self.protect(verdict.protection)
        elif verdict.action is Action.DELETE_FAILED:
            self.delete_failures += 1


# What happened in a repository besides its verdicts, in the order it happened.
@dataclass(frozen=True)
class InvalidTag:
    key: str
    value: str
    why: str


@dataclass(frozen=True)
class ArchivedIndexesUnread:
    """Archived indexes whose manifest ECR does not serve: what they list is unknown."""

    digests: tuple[str, ...]


@dataclass(frozen=True)
class IndexesNotRead:
    """Untagged indexes whose manifests were not read, because reading records a pull (the
    command line's principal is not a pull-time update exclusion): what they list is unverified."""

    digests: tuple[str, ...]


@dataclass(frozen=True)
class UnexpectedFailure:
    """BatchDeleteImage reported a failure for an id the sweep did not ask to delete."""

    failure: DeleteFailure


@dataclass(frozen=True)
class DeadlineCut:
    """The deadline stopped this repository's deletions: `left` planned ones wait for the next run."""

    left: int


@dataclass(frozen=True)
class RepositoryFailed:
    error: BaseException


Notice = InvalidTag | ArchivedIndexesUnread | IndexesNotRead | UnexpectedFailure | DeadlineCut | RepositoryFailed


@dataclass
class RepositoryResult:
    """One repository's sweep as values: its outcome, and every verdict and notice in order."""

    outcome: RepositoryOutcome
    events: list[Verdict | Notice] = field(default_factory=list)
    # With RunOptions.trace: every rule the planner checked, per digest (`ecr-sweeper explain`),
    # and every image listed, tagged ones included.
    trace: Mapping[str, tuple[Check, ...]] = field(default_factory=dict)
    images: Mapping[str, Image] = field(default_factory=dict)
    # Told each verdict as it is reached (set once the plan is made: the deletions stream).
    on_verdict: Callable[[str, Verdict], None] | None = field(default=None, repr=False, compare=False)

    def verdict(self, verdict: Verdict) -> None:
        self.events.append(verdict)
        self.outcome.count(verdict)
        if self.on_verdict is not None:
            self.on_verdict(self.outcome.repository, verdict)

    def notice(self, notice: Notice) -> None:
        self.events.append(notice)
        if isinstance(notice, UnexpectedFailure):
            self.outcome.delete_failures += 1

    @property
    def verdicts(self) -> list[Verdict]:
        return [event for event in self.events if isinstance(event, Verdict)]


class InUseState(enum.Enum):
    OK = "ok"
    # PROTECT_IN_USE=false: nothing was scanned, nothing is protected for being in use.
    OFF = "off"
    # A source could not be read completely: nothing was deleted in the region.
    FAILED = "failed"


@dataclass(frozen=True)
class InUseReport:
    """What the in-use scan found, or why it was not done or failed."""

    state: InUseState
    digests: int = 0
    by_family: Mapping[str, int] = field(default_factory=dict)
    # Sources not offered in the region, EKS clusters skipped on purpose, and why Inspector's
    # data was not used (inspectorInUse=auto).
    not_offered: tuple[str, ...] = ()
    ignored_clusters: tuple[str, ...] = ()
    inspector_unavailable: str | None = None
    error: BaseException | None = None
    # A central registry's consumer accounts that were read, and those not read on purpose
    # (consumerAccountsIgnored).
    consumer_accounts: tuple[str, ...] = ()
    ignored_accounts: tuple[str, ...] = ()
    # The scan's API calls, and the describe calls the in-use cache spared.
    api_calls: int = 0
    from_cache: int = 0
    # When the scan finished; with the Step Functions engine, the execution's picture it was read from.
    scanned_at: datetime | None = None
    picture: str | None = None


class Listener(Protocol):
    """Receives what a sweep finds and does, as it happens. Called from worker threads."""

    def in_use(self, report: InUseReport) -> None: ...

    def selected(self, repositories: int) -> None: ...

    def repository_started(self, repository: str) -> None: ...

    def verdict(self, repository: str, verdict: Verdict) -> None:
        """A deletion's final verdict, as soon as ECR answered (the command line streams them)."""

    def repository_done(self, result: RepositoryResult) -> None: ...

    def deadline(self, not_started: int, next_start: str) -> None: ...

    def cursor_error(self, action: str, error: BaseException) -> None: ...

    def in_use_cache_error(self, action: str, error: BaseException) -> None:
        """The in-use cache could not be read (the scan describes everything) or written."""

    def in_use_picture_unusable(self, why: str) -> None:
        """The execution's in-use picture could not be used (missing, damaged, too old): the batch scans."""

    def starved(self, repositories: list[str]) -> None: ...

    def finished(self, summary: SweepSummary) -> None: ...

    def region_failed(self, region: str | None, error: BaseException) -> None: ...


@dataclass
class SweepSummary:
    dry_run: bool
    as_of: datetime | None
    outcomes: list[RepositoryOutcome] = field(default_factory=list)
    in_use: InUseState = InUseState.OK
    # Why the in-use scan failed (then nothing was swept).
    in_use_error: str | None = None
    # The API calls the in-use scan made, failed or not (every source, every account).
    in_use_calls: int = 0
    # Repositories the deadline left unstarted, and where the next run starts ("" = the first).
    not_started: int = 0
    next_start: str | None = None
    # Repositories that neither this run nor the one before it started (cursor.py).
    starved: list[str] = field(default_factory=list)
    region: str | None = None
    # Set when the whole region failed (its repositories could not even be listed).
    error: str | None = None
    # With several regions: the summary of each, in the order they were swept.
    regions: list[SweepSummary] = field(default_factory=list)
    # In the preview week: the day real deletions start (this run was a dry run because of it).
    deleting_starts: date | None = None
    # Consumer accounts whose workloads the in-use scan read (with several regions or batches: one
    # per account and scan, added up).
    consumer_accounts_scanned: int = 0

    @property
    def failed_regions(self) -> list[SweepSummary]:
        return [s for s in (self.regions or [self]) if s.error]

    @property
    def deferred(self) -> int:
        return self.not_started + self.count(Status.DEFERRED)

    @property
    def in_use_failed(self) -> bool:
        return self.in_use is InUseState.FAILED

    @property
    def in_use_text(self) -> str:
        """The state as the return value says it: ok, off, or failed: <why>."""
        if self.in_use is InUseState.FAILED:
            return f"failed: {self.in_use_error}"
        return str(self.in_use.value)

    def protected_by(self, family: str) -> int:
        return sum(outcome.protected_by[family] for outcome in self.outcomes)

    def total(self, attribute: str) -> int:
        return sum(getattr(outcome, attribute) for outcome in self.outcomes)

    def count(self, status: Status) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status is status)

    @property
    def failed(self) -> list[RepositoryOutcome]:
        return [outcome for outcome in self.outcomes if outcome.status is Status.ERROR]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable and small: counts, never every digest."""
        # Repositories that need attention come first, so a cut never hides one of them.
        ordered = sorted(self.outcomes, key=lambda outcome: not outcome.noteworthy)
        listed = ordered[:MAX_SUMMARY_REPOSITORIES]
        return {
            "dryRun": self.dry_run,
            "preview": self.deleting_starts is not None,
            "deletingStarts": self.deleting_starts.isoformat() if self.deleting_starts else None,
            "asOf": self.as_of.isoformat() if self.as_of else None,
            "repositoriesScanned": len(self.outcomes),
            "imagesScanned": self.total("images_scanned"),
            "untaggedImages": self.total("untagged_images"),
            "archivedImages": self.total("archived_images"),
            "imagesDeleted": self.total("images_deleted"),
            "bytesReclaimed": self.total("bytes_reclaimed"),
            "deleteFailures": self.total("delete_failures"),
            "imagesProtected": self.total("images_protected"),
            "inUse": self.in_use_text,
            "consumerAccountsScanned": self.consumer_accounts_scanned,
            "inUseScanCalls": self.in_use_calls,
            "deferred": self.deferred,
            "starved": len(self.starved),
            "nextStart": self.next_start,
            "repositoryErrors": self.count(Status.ERROR),
            "invalidRetentionTags": self.count(Status.INVALID_TAG),
            "repositories": [outcome.to_dict() for outcome in listed],
            "repositoriesOmitted": len(self.outcomes) - len(listed),
            **({"regions": [_region_entry(s) for s in self.regions]} if self.regions else {}),
            **({"error": self.error} if self.error else {}),
        }


def _region_entry(summary: SweepSummary) -> dict[str, Any]:
    entry = {key: value for key, value in summary.to_dict().items() if key not in ("repositories", "regions")}
    return {"region": summary.region, **entry}


def combine(summaries: list[SweepSummary]) -> SweepSummary:
    """One summary for several regions: every repository, each marked with its region."""
    if len(summaries) == 1:
        return summaries[0]
    first = summaries[0]
    merged = SweepSummary(
        dry_run=first.dry_run, as_of=first.as_of, regions=summaries, deleting_starts=first.deleting_starts
    )
    for summary in summaries:
        for outcome in summary.outcomes:
            outcome.region = summary.region
        merged.outcomes.extend(summary.outcomes)
        merged.not_started += summary.not_started
        merged.starved += summary.starved
        merged.consumer_accounts_scanned += summary.consumer_accounts_scanned
        merged.in_use_calls += summary.in_use_calls
    failed_scans = [f"{s.region}: {s.in_use_text}" for s in summaries if s.in_use_failed]
    if failed_scans:
        merged.in_use, merged.in_use_error = InUseState.FAILED, "; ".join(failed_scans)
    else:
        merged.in_use = first.in_use
    return merged


class SweepFailed(RuntimeError):
    """Raised after every repository was tried, so that the Lambda Errors metric and alarm fire."""

    def __init__(self, summary: SweepSummary) -> None:
        self.summary = summary
        if summary.failed_regions:
            shown = ", ".join(f"{s.region or 'this region'} ({s.error})" for s in summary.failed_regions)
            super().__init__(
                f"{len(summary.failed_regions)} region(s) failed before anything was deleted in them: {shown}. "
                "See the region_error log records."
            )
            return
        if summary.in_use_failed:
            super().__init__(
                f"in-use scan {summary.in_use_text}; nothing was deleted, since any digest might be one that a "
                "workload runs or will pull. See the in_use_scan_failed log record."
            )
            return
        failed = summary.failed
        shown = ", ".join(f"{o.repository} ({o.detail})" for o in failed[:20])
        more = f" and {len(failed) - 20} more" if len(failed) > 20 else ""
        super().__init__(
            f"{len(failed)} of {len(summary.outcomes)} repositories failed: {shown}{more}. "
            "The other repositories were swept; see the repository_error log records."
        )
