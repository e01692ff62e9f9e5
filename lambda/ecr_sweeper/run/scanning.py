"""The in-use part of the composition root: the region's scan with the in-use cache, the Step
Functions execution's one scan (its own step, repeated until complete, written to the work bucket
as the execution's in-use picture), and a batch's reading of that picture.

With the Step Functions engine the scan runs once per execution, in its own step: each invocation
goes on from the in-use cache where the one before ran out of time, until the scan is complete;
only then do the batches start. Each batch reads the picture instead of scanning again, unless it
starts more than inUseMaxAgeMinutes after the scan, or the picture cannot be read: then it scans
for itself (reading the cache, never writing it: only the scan step writes the cache), and says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ecr_sweeper.aws.clients import Clients
from ecr_sweeper.aws.in_use.cache import CacheUnusable, caller_account
from ecr_sweeper.aws.in_use.picture import PictureStore, PictureUnusable
from ecr_sweeper.aws.in_use.scan import scan_with_cache
from ecr_sweeper.aws.in_use.values import InUse, InUseScanFailed, ScanOptions, ScanOutOfTime
from ecr_sweeper.core.constants import CONSUMER_SESSION_NAME, WORK_BUCKET_ENV
from ecr_sweeper.core.deadline import Deadline
from ecr_sweeper.core.outcome import InUseReport, InUseState, Listener
from ecr_sweeper.core.settings import ConfigError, Settings
from ecr_sweeper.run.sweep import report_of

# The scan step of an execution invokes itself again, from the cache, at most this many times: a
# scan that makes no progress in that many 15-minute invocations fails the execution instead.
MAX_SCAN_INVOCATIONS = 24


def in_use_scan(
    settings: Settings,
    clients: Clients,
    here: Clients,
    deadline: Deadline,
    report: Listener,
    picture: str | None = None,
) -> Callable[[], InUse]:
    """The region's in-use scan: `here` reads the region (and assumes each consumer account's role
    there); `clients`, the function's home region, holds the in-use cache. With `picture` (a Step
    Functions batch), the execution's picture, unless it cannot be used."""
    options = ScanOptions(settings.eks_clusters_ignored, settings.inspector_in_use, settings.consumers)

    def assume(role_arn: str) -> Clients:
        # A consumer account is read with clients of the role assumed there, in the same region.
        return here.assumed(role_arn, CONSUMER_SESSION_NAME)

    def run() -> InUse:
        if picture is not None:
            found = _from_picture(settings, clients, picture, here.region_name or "", report)
            if found is not None:
                return found
        return scan_with_cache(
            here,
            options,
            assume,
            cache=(clients, settings.in_use_cache_bucket) if settings.in_use_cache_bucket else None,
            region=here.region_name or "",
            deadline=deadline,
            on_cache_error=report.in_use_cache_error,
            # Only the execution's scan step writes the cache; a batch that scans again only reads it.
            write_back=picture is None,
        )

    return run


def _from_picture(settings: Settings, clients: Clients, key: str, region: str, report: Listener) -> InUse | None:
    """The execution's picture, or None (said through `report`) when it cannot be used."""
    store = PictureStore(clients("s3"), _work_bucket(settings))
    try:
        found = store.load(key, account=caller_account(clients("sts")), region=region)
    except (PictureUnusable, CacheUnusable) as error:
        report.in_use_picture_unusable(str(error))
        return None
    age = datetime.now(timezone.utc) - found.scanned_at
    if age > timedelta(minutes=settings.in_use_max_age_minutes):
        report.in_use_picture_unusable(
            f"{store.where(key)} was scanned at {found.scanned_at.isoformat()}, {age.total_seconds() / 60:.0f} "
            f"minutes ago, more than inUseMaxAgeMinutes={settings.in_use_max_age_minutes}"
        )
        return None
    found.in_use.scanned_at, found.in_use.picture = found.scanned_at, store.where(key)
    return found.in_use


@dataclass(frozen=True)
class ExecutionScan:
    """What one invocation of the scan step achieved: complete (the picture is written, at
    `picture`), or not yet (the next invocation goes on from the cache)."""

    complete: bool
    picture: str | None = None
    scanned_at: datetime | None = None
    calls: int = 0
    why: str | None = None


def scan_for_execution(
    settings: Settings, *, key: str, invocations: int, deadline: Deadline, listener: Callable[[str | None], Listener]
) -> ExecutionScan:
    """The execution's one in-use scan, written to the work bucket at `key` once complete.
    `invocations`: how many invocations of the step came before this one. Raises InUseScanFailed
    (after reporting it) for any failure but the invocation's time running out."""
    clients = Clients()
    report = listener(clients.region_name)
    if not settings.protect_in_use:
        report.in_use(InUseReport(InUseState.OFF))
        return ExecutionScan(complete=True)
    try:
        found = in_use_scan(settings, clients, clients, deadline, report)()
    except ScanOutOfTime as stopped:
        if invocations + 1 < MAX_SCAN_INVOCATIONS:
            return ExecutionScan(complete=False, calls=stopped.calls, why=stopped.cause)
        failed = InUseScanFailed(
            "in-use scan",
            f"{MAX_SCAN_INVOCATIONS} invocations of the scan step did not complete the scan",
            "look for a source that answers slowly, or list fewer consumer accounts",
        )
        failed.calls = stopped.calls
        report.in_use(InUseReport(InUseState.FAILED, error=failed, api_calls=failed.calls))
        raise failed from stopped
    except InUseScanFailed as failed:
        report.in_use(InUseReport(InUseState.FAILED, error=failed, api_calls=failed.calls))
        raise
    report.in_use(report_of(found))
    scanned_at = found.scanned_at or datetime.now(timezone.utc)
    PictureStore(clients("s3"), _work_bucket(settings)).save(
        key, found, account=caller_account(clients("sts")), region=clients.region_name or "", scanned_at=scanned_at
    )
    return ExecutionScan(complete=True, picture=key, scanned_at=scanned_at, calls=found.api_calls)


def _work_bucket(settings: Settings) -> str:
    if not settings.work_bucket:
        raise ConfigError(f"{WORK_BUCKET_ENV} is not set: the Step Functions engine's function needs its work bucket")
    return settings.work_bucket
