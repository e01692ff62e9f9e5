"""Shared fixtures: the corrected ECR emulator, clean Powertools state, log and metric capture."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.emulator.ecr import faults, install

install()

# Node 20 is end-of-life: without this, jsii prints a banner on every CDK import.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# No test may reach a real AWS endpoint, whatever the developer's environment holds.
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
    os.environ.pop(_name, None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
)


@pytest.fixture(autouse=True)
def _reset_faults() -> Iterator[None]:
    faults.reset()
    yield
    faults.reset()


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


@pytest.fixture(autouse=True)
def retry_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore's retry backoff, recorded instead of slept, so that throttling tests stay fast."""
    import types

    import botocore.endpoint

    sleeps: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=sleeps.append))
    return sleeps
