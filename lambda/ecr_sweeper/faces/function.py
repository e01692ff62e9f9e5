"""The Lambda face: the scheduled (or manual) event in, the run's summary out. The run is built by
run/runner.py; this module only renders it as logs, metrics and a return value."""

from __future__ import annotations

from functools import partial
from typing import Any

from ecr_sweeper.core.deadline import Deadline
from ecr_sweeper.core.outcome import SweepFailed
from ecr_sweeper.run import runner
from ecr_sweeper.run.observability import metrics, reporter


@metrics.log_metrics
def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    settings = runner.start(context)
    options = runner.run_options(settings, event)
    summary = runner.sweep(
        settings,
        options,
        listener=partial(reporter, options),
        deadline=Deadline.of(context),
        metrics=metrics,
    )
    if summary.failed or summary.in_use_failed or summary.failed_regions:
        raise SweepFailed(summary)
    return summary.to_dict()
