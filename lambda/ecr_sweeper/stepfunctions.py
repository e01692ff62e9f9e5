"""The steps of the Step Functions engine (context `engine=stepfunctions`), on the same sweep code.

The state machine owns these events; they are not a user-facing contract. The execution input is
the user-facing event, exactly as lambda_handler accepts it (scheduled event, dryRun,
repositories, asOf), and is validated by the first step.

- {"step": "list", "input": <execution input>}: the repositories in batches, inline when they fit
  in the state (256 KiB), else written to S3 for a distributed Map.
- {"step": "sweep", "repositories": [...], "dryRun": bool, "asOf": str | null}: sweep one batch
  (the same Sweep as lambda_handler, with its in-use scan, deadline and metrics); returns the
  batch's totals and its failed repositories, without raising for them.
- {"step": "collect", "results": [...]} or {"step": "collect", "resultWriter": {...}}: add the
  batches up and fail the execution if any repository failed.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from typing import Any

from ecr_sweeper.clients import client
from ecr_sweeper.constants import REPOSITORIES_PER_INVOCATION_ENV, WORK_BUCKET_ENV
from ecr_sweeper.handler import in_preview, logger, metrics, start, sweep, validated
from ecr_sweeper.outcome import Status
from ecr_sweeper.preview import Preview
from ecr_sweeper.registry import EcrRegistry
from ecr_sweeper.settings import ConfigError, RunOptions, Settings

# Below Step Functions' 256 KiB payload limit, with room for the rest of the state.
INLINE_LIMIT_BYTES = 200 * 1024
DEFAULT_REPOSITORIES_PER_INVOCATION = 500
TOTALS = ("repositoriesScanned", "imagesScanned", "untaggedImages", "imagesDeleted", "bytesReclaimed",
          "deleteFailures", "imagesProtected", "deferred", "repositoryErrors", "invalidRetentionTags")  # fmt: skip


class RepositoriesFailed(RuntimeError):
    """Raised by the collect step so that the execution fails, naming the failed repositories."""


@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = start(context)
    step = event.get("step") if isinstance(event, dict) else None
    if step == "list":
        return list_step(settings, event.get("input"), context)
    if step == "sweep":
        return sweep_step(settings, event, context)
    if step == "collect":
        return collect_step(event)
    raise ConfigError(f"step={step!r} is invalid: expected list, sweep or collect")


def list_step(settings: Settings, execution_input: Any, context: Any) -> dict[str, Any]:
    # The preview week is decided once, here, for every batch of the execution.
    options = in_preview(settings, validated(lambda: RunOptions.from_event(execution_input, settings)))
    per_invocation = _per_invocation()
    if options.repositories is not None:
        # The sweep step reports any name that does not exist, as lambda_handler does.
        names = list(options.repositories)
    else:
        names = sorted(r.name for r in EcrRegistry(client("ecr")).repositories())
    batches = [{"repositories": names[i : i + per_invocation]} for i in range(0, len(names), per_invocation)]
    state: dict[str, Any] = {
        "dryRun": options.dry_run,
        "asOf": options.as_of.isoformat() if options.as_of else None,
        "deletingStarts": options.preview.deleting_starts.isoformat() if options.preview else None,
        "repositoryCount": len(names),
        "batchCount": len(batches),
    }
    if len(json.dumps(batches)) <= INLINE_LIMIT_BYTES:
        logger.info(f"listed {len(names)} repositories in {len(batches)} inline batch(es)", extra=state)
        return {**state, "batches": batches}
    bucket = os.environ[WORK_BUCKET_ENV]
    run = getattr(context, "aws_request_id", None) or uuid.uuid4().hex
    key = f"runs/{run}/batches.json"
    client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps(batches).encode(), ContentType="application/json")
    logger.info(f"listed {len(names)} repositories in {len(batches)} batches, s3://{bucket}/{key}", extra=state)
    return {**state, "itemsBucket": bucket, "itemsKey": key}


def sweep_step(settings: Settings, event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = {key: event[key] for key in ("repositories", "dryRun", "asOf") if event.get(key) is not None}
    options = validated(lambda: RunOptions.from_event(request, settings))
    if event.get("deletingStarts"):
        options = replace(options, preview=Preview(date.fromisoformat(event["deletingStarts"])))
    summary = sweep(settings, options, context)
    if summary.in_use_failed:
        # Without the in-use picture this batch deleted nothing; the execution must fail.
        raise RepositoriesFailed(f"in-use scan {summary.in_use}; nothing deleted in this batch")
    totals = summary.to_dict()
    return {
        **{key: totals[key] for key in TOTALS},
        "failed": [
            {"repository": o.repository, "detail": o.detail} for o in summary.outcomes if o.status is Status.ERROR
        ],
    }


def collect_step(event: dict[str, Any]) -> dict[str, Any]:
    results = event["results"] if "results" in event else list(_written_results(event["resultWriter"]))
    totals = {key: sum(int(result.get(key) or 0) for result in results) for key in TOTALS}
    failed = [entry for result in results for entry in result.get("failed", [])]
    logger.info(
        f"sweep finished: {totals['imagesDeleted']} deleted in {totals['repositoriesScanned']} repositories, "
        f"{len(failed)} failed",
        extra={"record_type": "sweep_summary", "batches": len(results), **totals},
    )
    if failed:
        shown = ", ".join(f"{f['repository']} ({f['detail']})" for f in failed[:20])
        more = f" and {len(failed) - 20} more" if len(failed) > 20 else ""
        raise RepositoriesFailed(f"{len(failed)} repositories failed: {shown}{more}")
    return {**totals, "batches": len(results)}


def _written_results(details: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """The outputs of a distributed Map, from the manifest its ResultWriter left in S3."""
    s3 = client("s3")
    bucket = details["Bucket"]
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=details["Key"])["Body"].read())
    for written in manifest.get("ResultFiles", {}).get("SUCCEEDED", []):
        for entry in json.loads(s3.get_object(Bucket=bucket, Key=written["Key"])["Body"].read()):
            yield json.loads(entry["Output"])
    failed = [f for f in manifest.get("ResultFiles", {}).get("FAILED", []) if f.get("Size")]
    if failed:
        raise RepositoriesFailed(f"{len(failed)} result file(s) of failed batches in s3://{bucket}")


def _per_invocation() -> int:
    value = os.environ.get(REPOSITORIES_PER_INVOCATION_ENV, str(DEFAULT_REPOSITORIES_PER_INVOCATION))
    if not (value.isascii() and value.isdigit() and int(value) > 0):
        raise ConfigError(f"{REPOSITORIES_PER_INVOCATION_ENV}={value!r} is invalid: expected a whole number above 0")
    return int(value)
