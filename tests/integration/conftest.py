"""Given an emulated registry, when the real lambda_handler runs, then look at the registry,
the log records and the metrics it emitted."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.output import Emitted, parse_output


@dataclass
class LambdaContext:
    function_name: str = "ecr-sweeper"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:ecr-sweeper"
    aws_request_id: str = "test-request"
    remaining_ms: int = 900_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class Invocation:
    result: dict[str, Any] | None
    error: BaseException | None
    emitted: Emitted

    def records(self, **match: Any) -> list[dict[str, Any]]:
        return self.emitted.records(**match)

    def metric(self, name: str) -> float:
        return self.emitted.metric(name)


@pytest.fixture
def ecr() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("ecr", region_name="us-east-1")


Invoke = Callable[..., Invocation]


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch) -> Invoke:
    from ecr_sweeper import handler

    def run(event: Any = None, env: dict[str, str] | None = None, context: Any = None) -> Invocation:
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        buffer = io.StringIO()
        stream_handler = handler.logger.registered_handler
        previous = stream_handler.setStream(buffer)  # type: ignore[attr-defined]
        result, error = None, None
        try:
            with contextlib.redirect_stdout(buffer):
                result = handler.lambda_handler(event, context or LambdaContext())
        except Exception as caught:  # noqa: BLE001 - the test asserts on it
            error = caught
        finally:
            stream_handler.setStream(previous)  # type: ignore[attr-defined]
            handler.metrics.clear_metrics()
        return Invocation(result, error, parse_output(buffer.getvalue()))

    return run
