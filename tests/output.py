"""Reading what the handler printed: Powertools JSON log records and EMF metric blobs."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Emitted:
    """What the handler printed: Powertools log records and EMF metric blobs."""

    logs: list[dict[str, Any]] = field(default_factory=list)
    metric_blobs: list[dict[str, Any]] = field(default_factory=list)

    def records(self, **match: Any) -> list[dict[str, Any]]:
        return [r for r in self.logs if all(r.get(k) == v for k, v in match.items())]

    def metric(self, name: str) -> float:
        values = [blob[name] for blob in self.metric_blobs if name in blob]
        assert len(values) == 1, f"metric {name} emitted in {len(values)} blobs"
        # EMF carries a list when a metric was added more than once in one flush.
        value = values[0]
        return float(sum(value)) if isinstance(value, list) else float(value)

    def metric_definition(self, name: str) -> dict[str, Any]:
        for blob in self.metric_blobs:
            for directive in blob["_aws"]["CloudWatchMetrics"]:
                for metric in directive["Metrics"]:
                    if metric["Name"] == name:
                        return {"Namespace": directive["Namespace"], **metric}
        raise AssertionError(f"metric {name} not defined")


def parse_output(text: str) -> Emitted:
    emitted = Emitted()
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        (emitted.metric_blobs if "_aws" in record else emitted.logs).append(record)
    return emitted


@dataclass
class Invocation:
    result: dict[str, Any] | None
    error: BaseException | None
    emitted: Emitted

    def records(self, **match: Any) -> list[dict[str, Any]]:
        return self.emitted.records(**match)

    def metric(self, name: str) -> float:
        return self.emitted.metric(name)


def invoke_captured(event: Any, context: Any, function: Callable[[Any, Any], Any] | None = None) -> Invocation:
    """Run the real lambda_handler (or another entry point of the function, such as the Step
    Functions steps' handler), capturing its log stream and its EMF output."""
    from ecr_sweeper.faces import function as handler
    from ecr_sweeper.run import observability

    buffer = io.StringIO()
    stream_handler = observability.logger.registered_handler
    previous = stream_handler.setStream(buffer)  # type: ignore[attr-defined]
    result, error = None, None
    try:
        with contextlib.redirect_stdout(buffer):
            result = (function or handler.lambda_handler)(event, context)
    except Exception as caught:  # noqa: BLE001 - the caller asserts on it, or shows it
        error = caught
    finally:
        stream_handler.setStream(previous)  # type: ignore[attr-defined]
        observability.metrics.clear_metrics()
    return Invocation(result, error, parse_output(buffer.getvalue()))
