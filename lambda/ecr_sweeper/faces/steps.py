"""The Step Functions face (context `engine=stepfunctions`): the steps of the state machine, each a
run built by runner.py, rendered as the state the machine passes on.

The state machine owns these events; they are not a user-facing contract. The execution input is
the user-facing event, exactly as lambda_handler accepts it (scheduled event, dryRun,
repositories, asOf), and is validated by the first step.

- {"step": "list", "input": <execution input>}: the repositories in batches, inline when they fit
  in the state (256 KiB), else written to S3 for a distributed Map. `rotate` says whether the
  batches are the whole region (each keeps its own rotation) or repositories a person named.
- {"step": "scan", "execution": <execution name>, "invocations": n}: the execution's one in-use
  scan, one invocation of it (run/scanning.py): `complete` with the picture written to the work
  bucket, or not yet; the state machine invokes it again until it is complete, and only then
  starts the batches.
- {"step": "sweep", "repositories": [...], "dryRun": bool, "asOf": str | null, "batch": n,
  "rotate": bool, "picture": key}: sweep one batch (the same sweep as lambda_handler, with the
  execution's in-use picture instead of a scan of its own, its deadline and metrics); returns the
  batch's totals and its failed and starved repositories, without raising for them.
- {"step": "collect", "results": [...]} or {"step": "collect", "resultWriter": {...}}: add the
  batches up, report repositories starved two runs in a row, and fail the execution if any
  repository failed.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import date
from functools import partial
from typing import Any

from ecr_sweeper.core.deadline import Deadline
from ecr_sweeper.core.outcome import Status
from ecr_sweeper.core.preview import Preview
from ecr_sweeper.core.settings import ConfigError, RunOptions, Settings
from ecr_sweeper.run import runner
from ecr_sweeper.run.observability import logger, metrics, reporter
from ecr_sweeper.run.scanning import scan_for_execution

# Below Step Functions' 256 KiB payload limit, with room for the rest of the state.
INLINE_LIMIT_BYTES = 200 * 1024
TOTALS = ("repositoriesScanned", "imagesScanned", "untaggedImages", "imagesDeleted", "bytesReclaimed",
          "deleteFailures", "imagesProtected", "deferred", "repositoryErrors", "invalidRetentionTags",
          "repositoriesStarved", "inUseScanCalls")  # fmt: skip
# Names shown in a step's output and in the collect step's message; the counts are always whole.
SHOWN = 20


class RepositoriesFailed(RuntimeError):
    """Raised by the collect step so that the execution fails, naming the failed repositories."""


@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = runner.start(context)
    step = event.get("step") if isinstance(event, dict) else None
    if step == "list":
        return list_step(settings, event.get("input"), context)
    if step == "scan":
        return scan_step(settings, event, context)
    if step == "sweep":
        return sweep_step(settings, event, context)
    if step == "collect":
        return collect_step(settings, event)
    raise ConfigError(f"step={step!r} is invalid: expected list, scan, sweep or collect")


def list_step(settings: Settings, execution_input: Any, context: Any) -> dict[str, Any]:
    # The preview week is decided once, here, for every batch of the execution.
    options = runner.run_options(settings, execution_input)
    batches = [{"repositories": names} for names in runner.batches(settings, options)]
    count = sum(len(batch["repositories"]) for batch in batches)
    state: dict[str, Any] = {
        "dryRun": options.dry_run,
        "asOf": options.as_of.isoformat() if options.as_of else None,
        "deletingStarts": options.preview.deleting_starts.isoformat() if options.preview else None,
        # The whole region: each batch keeps its own rotation. Named repositories move no cursor.
        "rotate": options.repositories is None,
        "repositoryCount": count,
        "batchCount": len(batches),
        # The execution's in-use scan has not run yet: the scan step comes next.
        "scan": {"complete": False, "invocations": 0},
    }
    if len(json.dumps(batches)) <= INLINE_LIMIT_BYTES:
        logger.info(f"listed {count} repositories in {len(batches)} inline batch(es)", extra=state)
        return {**state, "batches": batches}
    bucket = runner.work_bucket(settings)
    key = f"runs/{getattr(context, 'aws_request_id', None) or uuid.uuid4().hex}/batches.json"
    bucket.put_json(key, batches)
    logger.info(f"listed {count} repositories in {len(batches)} batches, s3://{bucket.bucket}/{key}", extra=state)
    return {**state, "itemsBucket": bucket.bucket, "itemsKey": key}


def scan_step(settings: Settings, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The execution's one in-use scan, one invocation of it: complete, with the picture written, or
    not yet (the state machine invokes this step again, which goes on from the in-use cache)."""
    invocations = int(event.get("invocations") or 0)
    execution = str(event.get("execution") or uuid.uuid4().hex)
    done = scan_for_execution(
        settings,
        key=f"in-use/{execution}/picture.json",
        invocations=invocations,
        deadline=Deadline.of(context),
        listener=partial(reporter, RunOptions(dry_run=settings.dry_run)),
    )
    metrics.add_metric(name="InUseScanCalls", unit="Count", value=done.calls)
    state = {
        "complete": done.complete,
        "invocations": invocations + 1,
        "picture": done.picture,
        "scannedAt": done.scanned_at.isoformat() if done.scanned_at else None,
        "inUseScanCalls": done.calls,
    }
    if not done.complete:
        logger.warning(
            f"the in-use scan did not finish in this invocation ({done.why}); the next invocation of the scan step "
            "goes on from the in-use cache, and no batch starts before the scan is complete",
            extra={"record_type": "in_use_scan_continues", **state},
        )
    return state


def sweep_step(settings: Settings, event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = {key: event[key] for key in ("repositories", "dryRun", "asOf") if event.get(key) is not None}
    options = runner.validated(lambda: RunOptions.from_event(request, settings))
    if event.get("deletingStarts"):
        options = replace(options, preview=Preview(date.fromisoformat(event["deletingStarts"])))
    batch = event.get("batch") if event.get("rotate") else None
    summary = runner.sweep(
        settings,
        options,
        listener=partial(reporter, options),
        deadline=Deadline.of(context),
        metrics=metrics,
        batch=batch if isinstance(batch, int) else None,
        # The execution's in-use picture (its scan step wrote it); absent: the batch scans for itself.
        picture=event.get("picture") if isinstance(event.get("picture"), str) else None,
    )
    if summary.in_use_failed:
        # Without the in-use picture this batch deleted nothing; the execution must fail.
        raise RepositoriesFailed(f"in-use scan {summary.in_use_text}; nothing deleted in this batch")
    totals = summary.to_dict()
    return {
        **{key: totals[key] for key in TOTALS if key in totals},
        "repositoriesStarved": len(summary.starved),
        "starved": summary.starved[:SHOWN],
        "failed": [
            {"repository": o.repository, "detail": o.detail} for o in summary.outcomes if o.status is Status.ERROR
        ],
    }


def collect_step(settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    if "results" in event:
        results = event["results"]
    else:
        written = event["resultWriter"]
        results = list(runner.work_bucket(settings, bucket=written["Bucket"]).map_results(written["Key"]))
    totals = {key: sum(int(result.get(key) or 0) for result in results) for key in TOTALS}
    failed = [entry for result in results for entry in result.get("failed", [])]
    logger.info(
        f"sweep finished: {totals['imagesDeleted']} deleted in {totals['repositoriesScanned']} repositories, "
        f"{len(failed)} failed",
        extra={"record_type": "sweep_summary", "batches": len(results), **totals},
    )
    if totals["repositoriesStarved"]:
        starved = [name for result in results for name in result.get("starved", [])]
        logger.warning(
            f"{totals['repositoriesStarved']} repositories were not started by this execution nor by the one "
            f"before it: {_shown(starved, totals['repositoriesStarved'])}. Lower repositoriesPerInvocation, so "
            "that each batch finishes within one invocation",
            extra={"record_type": "starved", "repositories_starved": totals["repositoriesStarved"],
                   "repositories": starved},
        )  # fmt: skip
    if failed:
        entries = [f"{f['repository']} ({f['detail']})" for f in failed]
        raise RepositoriesFailed(f"{len(failed)} repositories failed: {_shown(entries, len(failed))}")
    return {**totals, "batches": len(results)}


def _shown(names: list[str], total: int) -> str:
    more = f" and {total - SHOWN} more" if total > SHOWN else ""
    return ", ".join(names[:SHOWN]) + more
