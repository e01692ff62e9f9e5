"""The structured records of a sweep's values: one per verdict, per notice, per repository and per
in-use scan, each with the level it is written at. Reporter (report.py) writes them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ecr_sweeper.core.errors import describe_error
from ecr_sweeper.core.model import Action, Verdict
from ecr_sweeper.core.outcome import (
    ArchivedIndexesUnread,
    DeadlineCut,
    IndexesNotRead,
    InUseReport,
    InUseState,
    InvalidTag,
    Notice,
    RepositoryFailed,
    RepositoryResult,
    UnexpectedFailure,
)
from ecr_sweeper.core.preview import Preview

_LEVELS = {
    Action.DELETED: logging.INFO,
    Action.WOULD_DELETE: logging.INFO,
    Action.DELETE_FAILED: logging.WARNING,
    Action.KEPT: logging.DEBUG,
    Action.GONE: logging.INFO,
    Action.DEFERRED: logging.INFO,
}


@dataclass(frozen=True)
class Record:
    level: int
    message: str
    extra: dict[str, Any]
    exc_info: BaseException | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"message": self.message, **self.extra}


def verdict_record(repository: str, verdict: Verdict, *, dry_run: bool) -> Record:
    """One record per digest and decision. A keep decided at the last moment (re-check) is
    written at INFO rather than DEBUG, since a planned deletion did not happen."""
    image = verdict.image
    extra: dict[str, Any] = {
        "record_type": "verdict",
        "repository": repository,
        "digest": image.digest,
        "action": verdict.action.value,
        "reason": verdict.reason,
        "pushed_at": _iso(image.pushed_at),
        "last_pulled_at": _iso(image.last_pulled_at),
        "size_bytes": image.size_bytes,
        "media_type": image.media_type,
        "dry_run": dry_run,
    }
    if verdict.protection is not None:
        extra["protection"] = verdict.protection.value
    if verdict.caveat is not None:
        extra["caveat"] = verdict.caveat
    if verdict.failure is not None:
        extra["failure_code"] = verdict.failure.code
        extra["failure_reason"] = verdict.failure.reason
    message = f"{verdict.action.value} {repository}@{image.digest}: {verdict.reason}"
    return Record(verdict_level(verdict), message, extra)


def verdict_level(verdict: Verdict) -> int:
    """The level of a verdict's record. A keep decided at the last moment (re-check) is written at
    INFO rather than DEBUG, since a planned deletion did not happen."""
    return logging.INFO if verdict.late else _LEVELS[verdict.action]


def notice_record(repository: str, notice: Notice, *, dry_run: bool) -> Record:
    if isinstance(notice, InvalidTag):
        return Record(
            logging.WARNING,
            f"skipped {repository}: retention tag {notice.key}={notice.value!r} is invalid ({notice.why}); "
            "nothing deleted",
            {
                "record_type": "invalid_retention_tag",
                "repository": repository,
                "tag_key": notice.key,
                "tag_value": notice.value,
                "reason": notice.why,
            },
        )
    if isinstance(notice, ArchivedIndexesUnread):
        return Record(
            logging.INFO,
            f"{repository}: {len(notice.digests)} archived index(es) whose manifest ECR does not serve; what they "
            "list is unknown here, and ECR refuses to delete it (such a digest is then reported kept)",
            {"record_type": "archived_indexes", "repository": repository, "digests": list(notice.digests)},
        )
    if isinstance(notice, IndexesNotRead):
        return Record(
            logging.WARNING,
            f"{repository}: {len(notice.digests)} untagged index manifest(s) not read, since reading records a pull "
            "that keeps the index alive; deletions an index may forbid are marked unverified",
            {"record_type": "indexes_not_read", "repository": repository, "digests": list(notice.digests)},
        )
    if isinstance(notice, UnexpectedFailure):
        failure = notice.failure
        return Record(
            logging.WARNING,
            f"{Action.DELETE_FAILED.value} {repository}@{failure.digest}: ECR reported a failure for an id not "
            "requested",
            {
                "record_type": "verdict",
                "repository": repository,
                "digest": failure.digest,
                "action": Action.DELETE_FAILED.value,
                "reason": "failure reported for an id that was not in the request",
                "failure_code": failure.code,
                "failure_reason": failure.reason,
                "dry_run": dry_run,
            },
        )
    if isinstance(notice, DeadlineCut):
        return Record(
            logging.WARNING,
            f"deadline: {repository} stopped with {notice.left} planned deletion(s) left for the next run",
            {"record_type": "deadline", "repository": repository, "deletions_left": notice.left},
        )
    assert isinstance(notice, RepositoryFailed)
    return Record(
        logging.ERROR,
        f"failed {repository}: {describe_error(notice.error)}; the other repositories go on",
        {"record_type": "repository_error", "repository": repository, "error": describe_error(notice.error)},
        notice.error,
    )


def repository_records(
    result: RepositoryResult, *, dry_run: bool, preview: Preview | None, wanted: Callable[[int], bool] | None = None
) -> list[Record]:
    """Every verdict and notice of a repository, in order, then its summary. With `wanted`, only
    the verdicts whose level it accepts: a record that would not be written is not rendered."""
    name = result.outcome.repository
    written: dict[int, bool] = {}

    def rendered(event: Verdict | Notice) -> bool:
        if wanted is None or not isinstance(event, Verdict):
            return True
        level = verdict_level(event)
        if level not in written:
            written[level] = wanted(level)
        return written[level]

    records = [
        verdict_record(name, event, dry_run=dry_run)
        if isinstance(event, Verdict)
        else notice_record(name, event, dry_run=dry_run)
        for event in result.events
        if rendered(event)
    ]
    outcome = result.outcome
    # In the preview week every repository record says so, and when deleting starts.
    shown = {"preview": True, "deleting_starts": preview.deleting_starts.isoformat()} if preview else {"preview": False}
    records.append(
        Record(
            logging.INFO,
            f"{outcome.status.value} {name}",
            {
                "record_type": "repository_summary",
                "dry_run": dry_run,
                **shown,
                **{snake(key): value for key, value in outcome.to_dict().items()},
            },
        )
    )
    return records


def in_use_records(report: InUseReport) -> list[Record]:
    if report.state is InUseState.OFF:
        return [
            Record(
                logging.WARNING,
                "in-use protection is off (PROTECT_IN_USE=false): digests that workloads run or will pull "
                "are not protected",
                {"record_type": "in_use_scan", "protect_in_use": False},
            )
        ]
    if report.state is InUseState.FAILED:
        error = report.error
        return [
            Record(
                logging.ERROR,
                f"in-use scan failed, nothing deleted in this region: {error}",
                {
                    "record_type": "in_use_scan_failed",
                    "error": describe_error(error) if error else None,
                    "source": getattr(error, "source", None),
                    "cause": getattr(error, "cause", None),
                    "fix": getattr(error, "fix", None),
                    "api_calls": report.api_calls,
                },
                error,
            )
        ]
    by_family = dict(report.by_family)
    families = ", ".join(f"{family} {count}" for family, count in sorted(by_family.items())) or "none"
    absent = f"; not offered in this region: {', '.join(report.not_offered)}" if report.not_offered else ""
    consumers = f"; {len(report.consumer_accounts)} consumer account(s) read" if report.consumer_accounts else ""
    cached = f"; {report.from_cache} describe call(s) answered by the in-use cache" if report.from_cache else ""
    scanned = report.scanned_at.isoformat() if report.scanned_at else None
    # With the Step Functions engine a batch reads the execution's picture: its scan's time, not now.
    source = f"; from the execution's scan at {scanned} ({report.picture})" if report.picture else ""
    records = [
        Record(
            logging.INFO,
            f"in-use scan: {report.digests} digest(s) that workloads run or will pull are protected "
            f"({families}){absent}{consumers}; {report.api_calls} API call(s){cached}{source}",
            {
                "record_type": "in_use_scan",
                "digests_in_use": report.digests,
                "digests_by_family": by_family,
                "sources_not_offered": list(report.not_offered),
                "consumer_accounts_scanned": len(report.consumer_accounts),
                "consumer_accounts": list(report.consumer_accounts),
                "api_calls": report.api_calls,
                "answered_from_cache": report.from_cache,
                "scanned_at": scanned,
                "picture": report.picture,
            },
        )
    ]
    records += [
        Record(
            logging.WARNING,
            f"consumer account {account} is not read (consumerAccountsIgnored): digests its workloads run are not "
            "protected",
            {"record_type": "consumer_account_ignored", "account": account},
        )
        for account in report.ignored_accounts
    ]
    records += [
        Record(
            logging.WARNING,
            f"EKS cluster {cluster} is not read (eksClustersIgnored): digests its workloads run are not protected",
            {"record_type": "eks_cluster_ignored", "cluster": cluster},
        )
        for cluster in report.ignored_clusters
    ]
    if report.inspector_unavailable:
        records.append(
            Record(
                logging.INFO,
                f"Amazon Inspector's in-use data is not used ({report.inspector_unavailable}); inspectorInUse=auto "
                "goes on without it",
                {"record_type": "inspector_unavailable", "cause": report.inspector_unavailable},
            )
        )
    return records


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def snake(key: str) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in key)
