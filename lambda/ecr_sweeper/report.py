"""Structured log records and EMF metrics: every deletion, and every keep, can be explained later."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ecr_sweeper.errors import describe_error
from ecr_sweeper.model import DeleteFailure, Image, Protection, Repository
from ecr_sweeper.outcome import RepositoryOutcome, Status, SweepSummary
from ecr_sweeper.preview import Preview

DELETED = "deleted"
WOULD_DELETE = "would_delete"
DELETE_FAILED = "delete_failed"
KEPT = "kept"
# Planned for deletion, but gone when re-checked just before the delete call.
GONE = "gone"

_LEVELS = {
    DELETED: logging.INFO,
    WOULD_DELETE: logging.INFO,
    DELETE_FAILED: logging.WARNING,
    KEPT: logging.DEBUG,
    GONE: logging.INFO,
}

# Metric name -> (how it is read off the summary, unit). All are emitted on every run, zeros
# included, so that dashboards and alarms never see a gap where a run happened.
METRICS: dict[str, tuple[Callable[[SweepSummary], int], MetricUnit]] = {
    "RepositoriesScanned": (lambda s: len(s.outcomes), MetricUnit.Count),
    "ImagesScanned": (lambda s: s.total("images_scanned"), MetricUnit.Count),
    "UntaggedImages": (lambda s: s.total("untagged_images"), MetricUnit.Count),
    "ArchivedImages": (lambda s: s.total("archived_images"), MetricUnit.Count),
    "ImagesDeleted": (lambda s: s.total("images_deleted"), MetricUnit.Count),
    "BytesReclaimed": (lambda s: s.total("bytes_reclaimed"), MetricUnit.Bytes),
    "DeleteFailures": (lambda s: s.total("delete_failures"), MetricUnit.Count),
    "RepositoryErrors": (lambda s: s.count(Status.ERROR), MetricUnit.Count),
    "InvalidRetentionTags": (lambda s: s.count(Status.INVALID_TAG), MetricUnit.Count),
    "ImagesProtected": (lambda s: s.total("images_protected"), MetricUnit.Count),
    **{
        f"ProtectedBy{family.value}": (lambda s, f=family.value: s.protected_by(f), MetricUnit.Count)  # type: ignore[misc]
        for family in Protection
    },
    "InUseScanFailures": (lambda s: int(s.in_use_failed), MetricUnit.Count),
    "RepositoriesDeferred": (lambda s: s.deferred, MetricUnit.Count),
}


class Reporter:
    """Writes one record per verdict and per repository. Holds no per-run state of its own,
    so it is safe to share across threads."""

    def __init__(self, logger: Any, *, dry_run: bool, preview: Preview | None = None) -> None:
        self._logger = logger
        self._dry_run = dry_run
        # In the preview week every repository record says so, and when deleting starts.
        self._preview = (
            {"preview": True, "deleting_starts": preview.deleting_starts.isoformat()} if preview else {"preview": False}
        )

    @contextmanager
    def scope(self, repository: str) -> Iterator[None]:
        """Within a worker thread, every record carries `repository`, whoever writes it (botocore's
        retry warnings too). Powertools' thread-safe keys live in a ContextVar, one per thread."""
        self._logger.thread_safe_append_keys(repository=repository)
        try:
            yield
        finally:
            self._logger.thread_safe_remove_keys(["repository"])

    def verdict(
        self,
        repository: Repository,
        image: Image,
        action: str,
        reason: str,
        *,
        protection: Protection | None = None,
        level_info: bool = False,
        **extra: Any,
    ) -> None:
        """One record per digest and decision. `level_info` raises a keep that changed at the last
        moment (re-check) from DEBUG to INFO, since a planned deletion did not happen."""
        if protection is not None:
            extra["protection"] = protection.value
        if extra.get("caveat") is None:
            extra.pop("caveat", None)
        record = {
            "record_type": "verdict",
            "repository": repository.name,
            "digest": image.digest,
            "action": action,
            "reason": reason,
            "pushed_at": _iso(image.pushed_at),
            "last_pulled_at": _iso(image.last_pulled_at),
            "size_bytes": image.size_bytes,
            "media_type": image.media_type,
            "dry_run": self._dry_run,
            **extra,
        }
        level = logging.INFO if level_info else _LEVELS[action]
        self._logger.log(level, f"{action} {repository.name}@{image.digest}: {reason}", extra=record)

    def invalid_tag(self, repository: Repository, key: str, value: str, why: str) -> None:
        self._logger.warning(
            f"skipped {repository.name}: retention tag {key}={value!r} is invalid ({why}); nothing deleted",
            extra={
                "record_type": "invalid_retention_tag",
                "repository": repository.name,
                "tag_key": key,
                "tag_value": value,
                "reason": why,
            },
        )

    def unexpected_failure(self, repository: Repository, failure: DeleteFailure) -> None:
        self._logger.warning(
            f"{DELETE_FAILED} {repository.name}@{failure.digest}: ECR reported a failure for an id not requested",
            extra={
                "record_type": "verdict",
                "repository": repository.name,
                "digest": failure.digest,
                "action": DELETE_FAILED,
                "reason": "failure reported for an id that was not in the request",
                "failure_code": failure.code,
                "failure_reason": failure.reason,
                "dry_run": self._dry_run,
            },
        )

    def in_use_found(self, digests: int, by_family: dict[str, int], not_offered: list[str]) -> None:
        families = ", ".join(f"{family} {count}" for family, count in sorted(by_family.items())) or "none"
        absent = f"; not offered in this region: {', '.join(not_offered)}" if not_offered else ""
        self._logger.info(
            f"in-use scan: {digests} digest(s) that workloads run or will pull are protected ({families}){absent}",
            extra={
                "record_type": "in_use_scan",
                "digests_in_use": digests,
                "digests_by_family": by_family,
                "sources_not_offered": not_offered,
            },
        )

    def eks_cluster_ignored(self, cluster: str) -> None:
        self._logger.warning(
            f"EKS cluster {cluster} is not read (eksClustersIgnored): digests its workloads run are not protected",
            extra={"record_type": "eks_cluster_ignored", "cluster": cluster},
        )

    def inspector_unavailable(self, cause: str) -> None:
        self._logger.info(
            f"Amazon Inspector's in-use data is not used ({cause}); inspectorInUse=auto goes on without it",
            extra={"record_type": "inspector_unavailable", "cause": cause},
        )

    def in_use_off(self) -> None:
        self._logger.warning(
            "in-use protection is off (PROTECT_IN_USE=false): digests that workloads run or will pull "
            "are not protected",
            extra={"record_type": "in_use_scan", "protect_in_use": False},
        )

    def in_use_failed(self, error: BaseException) -> None:
        self._logger.error(
            f"in-use scan failed, nothing deleted in this region: {error}",
            extra={
                "record_type": "in_use_scan_failed",
                "error": describe_error(error),
                "source": getattr(error, "source", None),
                "cause": getattr(error, "cause", None),
                "fix": getattr(error, "fix", None),
            },
            exc_info=error,
        )

    def archived_indexes_unreadable(self, repository: Repository, digests: tuple[str, ...]) -> None:
        self._logger.info(
            f"{repository.name}: {len(digests)} archived index(es) whose manifest ECR does not serve; what they "
            "list is unknown here, and ECR refuses to delete it (such a digest is then reported kept)",
            extra={"record_type": "archived_indexes", "repository": repository.name, "digests": list(digests)},
        )

    def deadline_reached(self, left: int, next_start: str) -> None:
        self._logger.warning(
            f"deadline: {left} repositories not started; the next run starts at {next_start}",
            extra={"record_type": "deadline", "repositories_not_started": left, "next_start": next_start},
        )

    def deadline_reached_in(self, repository: str, left: int) -> None:
        self._logger.warning(
            f"deadline: {repository} stopped with {left} planned deletion(s) left for the next run",
            extra={"record_type": "deadline", "repository": repository, "deletions_left": left},
        )

    def cursor_error(self, action: str, error: BaseException) -> None:
        self._logger.warning(
            f"could not {action} where the sweep starts ({describe_error(error)}); starting at the first repository",
            extra={"record_type": "cursor_error", "error": describe_error(error)},
        )

    def repository_error(self, repository: str, error: BaseException) -> None:
        self._logger.error(
            f"failed {repository}: {describe_error(error)}; the other repositories go on",
            extra={"record_type": "repository_error", "repository": repository, "error": describe_error(error)},
            exc_info=error,
        )

    def repository(self, outcome: RepositoryOutcome) -> None:
        self._logger.info(
            f"{outcome.status.value} {outcome.repository}",
            extra={
                "record_type": "repository_summary",
                "dry_run": self._dry_run,
                **self._preview,
                **{_snake(key): value for key, value in outcome.to_dict().items()},
            },
        )

    def finished(self, summary: SweepSummary) -> None:
        totals = summary.to_dict()
        totals.pop("repositories")
        self._logger.info(
            "sweep finished", extra={"record_type": "sweep_summary", **{_snake(k): v for k, v in totals.items()}}
        )


def emit_metrics(metrics: Any, summary: SweepSummary) -> None:
    for name, (read, unit) in METRICS.items():
        metrics.add_metric(name=name, unit=unit, value=read(summary))


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _snake(key: str) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in key)
