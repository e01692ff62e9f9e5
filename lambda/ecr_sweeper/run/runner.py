"""The one composition root: settings, run options and a Target in, a sweep per region out. It
builds every client and adapter; the faces (faces/function.py, faces/steps.py, faces/cli/) hand it
what they were given (a profile, regions, an endpoint, the Lambda context) and render what it
returns.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, TypeVar

from ecr_sweeper.aws import clients as aws_clients
from ecr_sweeper.aws.clients import Clients, ecr_regions, require_models
from ecr_sweeper.aws.registry import EcrRegistry
from ecr_sweeper.aws.state import SsmCursor, SsmFirstRun, WorkBucket
from ecr_sweeper.core.constants import LOG_LEVEL_ENV, WORK_BUCKET_ENV
from ecr_sweeper.core.deadline import Deadline
from ecr_sweeper.core.errors import describe_error
from ecr_sweeper.core.manifest_reads import ManifestReads
from ecr_sweeper.core.manifest_reads import manifest_reads as manifest_reads_of
from ecr_sweeper.core.metrics import emit_metrics
from ecr_sweeper.core.outcome import Listener, SweepSummary, combine
from ecr_sweeper.core.preview import preview
from ecr_sweeper.core.rotation import CursorStore, NoCursor
from ecr_sweeper.core.settings import ConfigError, RunOptions, Settings
from ecr_sweeper.run import observability
from ecr_sweeper.run.repository_sweep import Judgement
from ecr_sweeper.run.scanning import in_use_scan
from ecr_sweeper.run.sweep import Selection, Sweep

T = TypeVar("T")
logger = observability.logger

# Failures of the AWS calls themselves, and the one line that tells a person what to do about a
# set-up error among them (no credentials, no region, an endpoint that does not answer).
AWS_ERRORS = aws_clients.AWS_ERRORS
setup_problem = aws_clients.setup_problem


@dataclass(frozen=True)
class Target:
    """Where a run reads and deletes, as a face was given it: a named profile (None: the usual
    credential chain), an endpoint (a local emulator), a region (None: the configured one)."""

    profile: str | None = None
    endpoint_url: str | None = None
    region: str | None = None

    def clients(self) -> Clients:
        return Clients(region=self.region, profile=self.profile, endpoint_url=self.endpoint_url)


# The cyclic garbage collector's first threshold: allocations, less deallocations, between two
# collections of the youngest generation (CPython's default is 700). A sweep allocates millions of
# short-lived objects (parsed image details, images, verdicts, records) that reference counting
# frees, and holds the SDK's models for the whole run: at 700, collections of the older generations
# kept re-reading all of them, 5 to 11% of the sweeping process's CPU time in `make bench`. At
# 10,000 they are rare, and peak memory is the same (the sweep creates few reference cycles).
GC_THRESHOLD = 10_000


def start(context: Any) -> Settings:
    """A function invocation begins: validate the environment and point Powertools at it.
    Raises ConfigError before any AWS call."""
    observability.begin(getattr(context, "aws_request_id", None))
    settings = validated(lambda: Settings.from_env(os.environ))
    validated(require_models)
    observability.configure(settings)
    return settings


def validated(read: Callable[[], T]) -> T:
    try:
        return read()
    except ConfigError as error:
        logger.error(f"invalid configuration, nothing swept: {error}", extra={"record_type": "config_error"})
        raise


def run_options(settings: Settings, event: Any, target: Target = Target()) -> RunOptions:
    """The options of a function run: the event's, and in the preview week a dry run that says
    when deleting starts. A run whose event set dryRun itself, or a forecast, is left as it is."""
    options = validated(lambda: RunOptions.from_event(event, settings))
    clients = target.clients()
    if settings.preview_days <= 0 or options.dry_run_given or options.as_of is not None:
        return options
    now = datetime.now(timezone.utc)
    first_run = None
    store = (
        SsmFirstRun(clients("ssm"), settings.first_run_parameter, settings.legacy_first_run_parameter)
        if settings.first_run_parameter
        else None
    )
    if store is not None:
        try:
            first_run = store.load()
            if first_run is None:
                store.record(now)
        except Exception as error:  # noqa: BLE001 - an unreadable record can only make this run a dry run
            logger.warning(
                f"could not read or record the first run ({describe_error(error)}); this run is a dry run",
                extra={"record_type": "preview_error", "error": describe_error(error)},
            )
    state = preview(first_run, settings.preview_days, now)
    if state is None:
        return options
    logger.info(
        f"preview: a dry run; deleting starts on {state.deleting_starts.isoformat()}",
        extra={"record_type": "preview", "deleting_starts": state.deleting_starts.isoformat()},
    )
    return replace(options, dry_run=True, preview=state)


def sweep(
    settings: Settings,
    options: RunOptions,
    *,
    listener: Callable[[str | None], Listener],
    target: Target = Target(),
    regions: Sequence[str | None] = (),
    deadline: Deadline | None = None,
    metrics: Any = None,
    batch: int | None = None,
    picture: str | None = None,
) -> SweepSummary:
    """Sweep each region in turn (default: the settings' regions, else the clients' own); a region
    that fails does not stop the others. `listener(region)` receives what happens in a region.
    `batch` names a Step Functions batch: the repositories were listed by the sweeper, and the
    batch keeps its own rotation; `picture`, the key of its execution's in-use picture in the work
    bucket (run/scanning.py). With `metrics`, each region's totals are added to them."""
    clients = target.clients()
    tune_garbage_collection()
    summaries = [
        _sweep_region(
            settings,
            options,
            clients,
            region,
            listener=listener,
            deadline=deadline or Deadline(),
            metrics=metrics,
            batch=batch,
            picture=picture,
        )
        for region in (regions or settings.regions or (None,))
    ]
    if metrics is not None:
        # The metrics are totals over the regions; the EMF document names which regions they cover.
        metrics.add_metadata(key="regions", value=[s.region for s in summaries])
    return combine(summaries)


def tune_garbage_collection() -> None:
    """Collect the youngest generation every GC_THRESHOLD net allocations at the least (a lower
    threshold set by the host process is raised; the older generations keep their ratios)."""
    youngest, *older = gc.get_threshold()
    if youngest < GC_THRESHOLD:
        gc.set_threshold(GC_THRESHOLD, *older)


def _sweep_region(
    settings: Settings,
    options: RunOptions,
    clients: Clients,
    region: str | None,
    *,
    listener: Callable[[str | None], Listener],
    deadline: Deadline,
    metrics: Any,
    batch: int | None,
    picture: str | None,
) -> SweepSummary:
    here = clients.in_region(region)
    name = here.region_name
    report = listener(name)
    summary = SweepSummary(
        dry_run=options.dry_run,
        as_of=options.as_of,
        deleting_starts=options.preview.deleting_starts if options.preview else None,
    )
    approved = None if options.approved is None else options.approved.get(name, {})
    selection = Selection(options.repositories, listed=batch is not None)
    if approved is not None:
        # A saved plan names its repositories; one deleted since holds nothing left to delete.
        selection = Selection(tuple(approved), listed=True)
    try:
        sweep = Sweep(
            # One client for every worker, with a connection for each (botocore's default pool is 10).
            registry=EcrRegistry(here("ecr", max_pool_connections=settings.max_workers + 2)),
            judgement=Judgement(
                retention_tag_key=settings.retention_tag_key,
                default_retention=settings.default_retention,
                now=options.as_of or datetime.now(timezone.utc),
                dry_run=options.dry_run,
                trace=options.trace,
                approved=approved,
                read_untagged_indexes=options.read_untagged_indexes,
            ),
            listener=report,
            selection=selection,
            scan_in_use=in_use_scan(settings, clients, here, deadline, report, picture)
            if settings.protect_in_use
            else None,
            workers=settings.max_workers,
            deadline=deadline,
            cursor=_cursor(settings, options, clients, region, batch),
        )
        summary = sweep.run(summary)
    except Exception as error:  # noqa: BLE001 - one region's failure must not stop the others
        report.region_failed(name, error)
        summary.error = describe_error(error)
    else:
        if metrics is not None:
            emit_metrics(metrics, summary)
    summary.region = name
    return summary


def _cursor(
    settings: Settings, options: RunOptions, clients: Clients, region: str | None, batch: int | None
) -> CursorStore | None:
    """Where this run starts, and the next one. None (no rotation) for repositories a person named:
    the nightly order must not move for them, nor for a saved plan. The parameters live in the home region of `clients`
    (the function's own), whichever region is swept."""
    if (options.repositories is not None or options.approved is not None) and batch is None:
        return None
    if not settings.cursor_parameter:
        return NoCursor()
    suffix = f"/batch/{batch}" if batch is not None else f"/{region}" if region else ""
    legacy = settings.legacy_cursor_parameter
    return SsmCursor(clients("ssm"), settings.cursor_parameter + suffix, legacy + suffix if legacy else None)


def batches(settings: Settings, options: RunOptions, target: Target = Target()) -> list[list[str]]:
    """The Step Functions engine's batches: the named repositories, else every one of the region
    (sorted, so that batch n holds about the same repositories night after night)."""
    # The sweep step reports a named repository that does not exist, as the function does.
    names = list(options.repositories) if options.repositories is not None else repository_names(target)
    size = settings.repositories_per_invocation
    return [names[start : start + size] for start in range(0, len(names), size)]


def work_bucket(settings: Settings, target: Target = Target(), bucket: str | None = None) -> WorkBucket:
    """The engine's bucket: the configured one, or `bucket` (named by a Map's ResultWriter)."""
    name = bucket or settings.work_bucket
    if not name:
        raise ConfigError(f"{WORK_BUCKET_ENV} is not set: the Step Functions engine's function needs its work bucket")
    return WorkBucket(target.clients()("s3"), name)


def repository_names(target: Target, region: str | None = None) -> list[str]:
    """Every repository of the region (None: the target's), sorted."""
    clients = target.clients().in_region(region)
    return sorted(repository.name for repository in EcrRegistry(clients("ecr")).repositories())


# -- what the command line needs before it sweeps ---------------------------------------------------


def laptop_settings(env: Mapping[str, str]) -> Settings:
    """The command line's settings: the function's environment variables, every record kept (the
    command line renders its own levels), and an SDK whose models know every field a safety rule
    reads (pip may have given this laptop an older botocore than the function bundles)."""
    settings = Settings.from_env({**env, LOG_LEVEL_ENV: "DEBUG"})
    require_models()
    return settings


def known_regions() -> frozenset[str]:
    """The regions the installed SDK knows Amazon ECR in."""
    return ecr_regions()


def configured_region(target: Target) -> str | None:
    """The target's region, or the one configured for its profile (as the AWS CLI finds it)."""
    return target.clients().region_name


def identity(target: Target, region: str) -> tuple[str, str]:
    """(account, ARN) of the target's credentials, asked once with a short timeout."""
    return target.clients().in_region(region).caller()


def manifest_reads(target: Target, regions: Sequence[str], caller: str, *, told: bool) -> dict[str, ManifestReads]:
    """Per region: whether to read untagged index manifests, and what to tell the person
    (core/manifest_reads.py); a list of exclusions that cannot be read counts as not excluded."""
    reads = {}
    for region in regions:
        try:
            exclusions: list[str] | None = EcrRegistry(target.clients().in_region(region)("ecr")).pull_time_exclusions()
            unknown = ""
        except AWS_ERRORS as error:
            exclusions, unknown = None, describe_error(error)
        reads[region] = manifest_reads_of(caller, region, exclusions, unknown=unknown, told=told)
    return reads
