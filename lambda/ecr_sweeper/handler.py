"""Lambda entry point: validate, wire, sweep. Decisions live in planner.py, AWS calls in the adapters."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from functools import partial
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics

from ecr_sweeper.clients import client, require_models
from ecr_sweeper.constants import (
    DEFAULT_LOG_LEVEL,
    DEFAULT_METRICS_NAMESPACE,
    DEFAULT_SERVICE_NAME,
    LOG_LEVEL_ENV,
    METRICS_NAMESPACE_ENV,
    SERVICE_NAME_ENV,
)
from ecr_sweeper.cursor import SsmCursor, SsmFirstRun
from ecr_sweeper.errors import describe_error
from ecr_sweeper.outcome import SweepFailed, SweepSummary, combine
from ecr_sweeper.preview import preview
from ecr_sweeper.registry import EcrRegistry
from ecr_sweeper.report import Reporter, emit_metrics
from ecr_sweeper.schedule import Deadline, NoCursor
from ecr_sweeper.settings import LOG_LEVELS, ConfigError, RunOptions, Settings
from ecr_sweeper.sweep import Sweep
from ecr_sweeper.usage import ScanOptions, scan

T = TypeVar("T")


def _import_time_level() -> str:
    # Powertools raises at construction on an unknown level, which would fail the import with a
    # message that does not name the variable. Start at the default; the handler then refuses the
    # bad value as a ConfigError that names POWERTOOLS_LOG_LEVEL.
    level = os.environ.get(LOG_LEVEL_ENV, DEFAULT_LOG_LEVEL).strip().upper()
    return level if level in LOG_LEVELS else DEFAULT_LOG_LEVEL


logger = Logger(service=os.environ.get(SERVICE_NAME_ENV) or DEFAULT_SERVICE_NAME, level=_import_time_level())
metrics = Metrics(
    namespace=os.environ.get(METRICS_NAMESPACE_ENV) or DEFAULT_METRICS_NAMESPACE,
    service=os.environ.get(SERVICE_NAME_ENV) or DEFAULT_SERVICE_NAME,
)


@metrics.log_metrics
def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    settings = start(context)
    options = in_preview(settings, validated(lambda: RunOptions.from_event(event, settings)))
    summaries = [sweep_region(settings, options, context, region) for region in settings.regions or (None,)]
    # The metrics are totals over the regions; the EMF document names which regions they cover.
    metrics.add_metadata(key="regions", value=[s.region for s in summaries])
    summary = combine(summaries)
    if summary.failed or summary.in_use_failed or summary.failed_regions:
        raise SweepFailed(summary)
    return summary.to_dict()


def sweep_region(settings: Settings, options: RunOptions, context: Any, region: str | None) -> SweepSummary:
    """Sweep one region (None: the function's own). A region that fails does not stop the others."""
    name = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    logger.append_keys(region=name)
    try:
        summary = sweep(
            settings,
            options,
            context,
            connect=partial(client, region=region) if region else None,
            cursor_name=f"{settings.cursor_parameter}/{region}" if region and settings.cursor_parameter else None,
        )
    except Exception as error:
        logger.error(
            f"region {name} failed, nothing deleted there: {describe_error(error)}",
            extra={"record_type": "region_error", "error": describe_error(error)},
            exc_info=error,
        )
        summary = SweepSummary(
            dry_run=options.dry_run,
            as_of=options.as_of,
            error=describe_error(error),
            deleting_starts=options.preview.deleting_starts if options.preview else None,
        )
    summary.region = name
    return summary


def in_preview(settings: Settings, options: RunOptions, connect: Callable[..., Any] = client) -> RunOptions:
    """The options of a run in the preview week: a dry run that says when deleting starts. A run
    whose event set dryRun itself, or a forecast, is left as it is."""
    if settings.preview_days <= 0 or options.dry_run_given or options.as_of is not None:
        return options
    now = datetime.now(timezone.utc)
    first_run = None
    store = SsmFirstRun(connect("ssm"), settings.first_run_parameter) if settings.first_run_parameter else None
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


def start(context: Any) -> Settings:
    """Validate the environment and point Powertools at it. Raises ConfigError before any AWS call."""
    logger.clear_state()
    logger.append_keys(function_request_id=getattr(context, "aws_request_id", None))
    settings = validated(lambda: Settings.from_env(os.environ))
    validated(require_models)
    # The environment of a warm container may have been updated since import.
    logger.setLevel(settings.log_level)
    logger.append_keys(service=settings.service_name)
    metrics.namespace = settings.metrics_namespace
    metrics.service = settings.service_name
    return settings


def validated(read: Callable[[], T]) -> T:
    try:
        return read()
    except ConfigError as error:
        logger.error(f"invalid configuration, nothing swept: {error}", extra={"record_type": "config_error"})
        raise


def sweep(
    settings: Settings,
    options: RunOptions,
    context: Any,
    *,
    connect: Callable[..., Any] | None = None,
    log: Any = None,
    cursor_name: str | None = None,
) -> SweepSummary:
    """Build the sweep from settings and options, run it, and add its metrics (flushed by the caller).

    `connect` builds clients (default: the function's own credentials and region), and `log`
    receives the records (default: the Powertools logger); the command-line tool passes its own.
    """
    connect = connect or client
    summary = Sweep(
        # One client for every worker, with a connection for each (botocore's default pool is 10).
        registry=EcrRegistry(connect("ecr", max_pool_connections=settings.max_workers + 2)),
        settings=settings,
        options=options,
        now=options.as_of or datetime.now(timezone.utc),
        reporter=Reporter(log or logger, dry_run=options.dry_run, preview=options.preview),
        scan_in_use=(
            (lambda: scan(connect, ScanOptions(settings.eks_clusters_ignored, settings.inspector_in_use)))
            if settings.protect_in_use
            else None
        ),
        workers=settings.max_workers,
        deadline=Deadline.of(context),
        # The cursor parameters live in the function's own region, whichever region is swept.
        cursor=SsmCursor(client("ssm"), cursor_name or settings.cursor_parameter)
        if settings.cursor_parameter
        else NoCursor(),
    ).run()
    emit_metrics(metrics, summary)
    return summary
