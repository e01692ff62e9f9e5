"""The Powertools Logger and Metrics of the function, shared by its two faces (handler.py and
stepfunctions.py), and the reporter that writes a run's records to them. Built at import, as
Powertools expects; nothing here calls AWS."""

from __future__ import annotations

import json
import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics

from ecr_sweeper.core.constants import (
    DEFAULT_LOG_LEVEL,
    DEFAULT_METRICS_NAMESPACE,
    DEFAULT_SERVICE_NAME,
    LOG_LEVEL_ENV,
    METRICS_NAMESPACE_ENV,
    SERVICE_NAME_ENV,
)
from ecr_sweeper.core.settings import RunOptions, Settings
from ecr_sweeper.core.validators import LOG_LEVELS
from ecr_sweeper.run.report import LogReporter


def _import_time_level() -> str:
    # Powertools raises at construction on an unknown level, which would fail the import with a
    # message that does not name the variable. Start at the default; the run then refuses the
    # bad value as a ConfigError that names POWERTOOLS_LOG_LEVEL.
    level = os.environ.get(LOG_LEVEL_ENV, DEFAULT_LOG_LEVEL).strip().upper()
    return level if level in LOG_LEVELS else DEFAULT_LOG_LEVEL


def _message(text: Any) -> Any:
    """Powertools writes a message that is a JSON document as that document, and so tries to
    decode every message; ours are sentences, and a failed decode per record (an exception raised
    and caught) was a tenth of the formatting. Only a message that can be a JSON object or array
    is decoded; any other is written as it is, as before (no record of ours is a bare JSON number,
    string or literal)."""
    return json.loads(text) if text[:1] in ("{", "[") else text


logger = Logger(
    service=os.environ.get(SERVICE_NAME_ENV) or DEFAULT_SERVICE_NAME,
    level=_import_time_level(),
    json_deserializer=_message,
)
metrics = Metrics(
    namespace=os.environ.get(METRICS_NAMESPACE_ENV) or DEFAULT_METRICS_NAMESPACE,
    service=os.environ.get(SERVICE_NAME_ENV) or DEFAULT_SERVICE_NAME,
)


def begin(request_id: str | None) -> None:
    """A new invocation: no key of the previous one carries over (a warm container)."""
    logger.clear_state()
    logger.append_keys(function_request_id=request_id)


def configure(settings: Settings) -> None:
    """Point the logger and metrics at the validated settings: the environment of a warm
    container may have been updated since import."""
    logger.setLevel(settings.log_level)
    logger.append_keys(service=settings.service_name)
    metrics.namespace = settings.metrics_namespace
    metrics.service = settings.service_name


def reporter(options: RunOptions, region: str | None) -> LogReporter:
    """The records of one region's sweep through the logger; each carries the region it is about."""
    logger.append_keys(region=region)
    return LogReporter(dry_run=options.dry_run, preview=options.preview, logger=logger)
