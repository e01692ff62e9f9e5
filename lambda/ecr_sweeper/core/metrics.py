"""The function's metrics (EMF, namespace EcrSweeper): each name, how it is read off a sweep's summary,
and its unit. Pure, so that the stack's alarms and dashboard (infra/) name exactly these without
importing the renderer or Powertools."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ecr_sweeper.core.model import Protection
from ecr_sweeper.core.outcome import (
    Status,
    SweepSummary,
)

# Metric name -> (how it is read off the summary, unit). All are emitted on every run, zeros
# included, so that dashboards and alarms never see a gap where a run happened.
METRICS: dict[str, tuple[Callable[[SweepSummary], int], str]] = {
    "RepositoriesScanned": (lambda s: len(s.outcomes), "Count"),
    "ImagesScanned": (lambda s: s.total("images_scanned"), "Count"),
    "UntaggedImages": (lambda s: s.total("untagged_images"), "Count"),
    "ArchivedImages": (lambda s: s.total("archived_images"), "Count"),
    "ImagesDeleted": (lambda s: s.total("images_deleted"), "Count"),
    "BytesReclaimed": (lambda s: s.total("bytes_reclaimed"), "Bytes"),
    "DeleteFailures": (lambda s: s.total("delete_failures"), "Count"),
    "RepositoryErrors": (lambda s: s.count(Status.ERROR), "Count"),
    "InvalidRetentionTags": (lambda s: s.count(Status.INVALID_TAG), "Count"),
    "ImagesProtected": (lambda s: s.total("images_protected"), "Count"),
    **{
        f"ProtectedBy{family.value}": (lambda s, f=family.value: s.protected_by(f), "Count")  # type: ignore[misc]
        for family in Protection
    },
    "InUseScanFailures": (lambda s: int(s.in_use_failed), "Count"),
    "ConsumerAccountsScanned": (lambda s: s.consumer_accounts_scanned, "Count"),
    "InUseScanCalls": (lambda s: s.in_use_calls, "Count"),
    "RepositoriesDeferred": (lambda s: s.deferred, "Count"),
    "RepositoriesStarved": (lambda s: len(s.starved), "Count"),
}


def emit_metrics(metrics: Any, summary: SweepSummary) -> None:
    for name, (read, unit) in METRICS.items():
        metrics.add_metric(name=name, unit=unit, value=read(summary))
