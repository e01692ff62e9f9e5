"""Failures and interleavings the tests inject into the corrected ECR operations: a call that fails
(`Fault`), an action run just before a call is served (`Hook`), a BatchDeleteImage item that fails, and
for benchmarks a latency per call and a share of calls throttled at random. `faults` is the one
instance; tests reset it between them (`faults.reset()`)."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.ecr.responses import ECRResponse


@dataclass
class Fault:
    """Make `operation` fail for `repository` (None: any) with `code`, `times` times (None: always)."""

    operation: str
    code: str
    repository: str | None = None
    message: str = "injected by the test emulator"
    times: int | None = None
    region: str | None = None


@dataclass
class Hook:
    """Run `action(request_params)` just before `operation` is served, `times` times (None: always)."""

    operation: str
    action: Callable[[dict[str, Any]], None]
    times: int | None = 1


@dataclass
class Faults:
    """Failures and interleavings the tests inject. Reset between tests with `reset()`."""

    calls: list[Fault] = field(default_factory=list)
    # digest -> (failureCode, failureReason) returned in BatchDeleteImage failures[].
    delete_items: dict[str, tuple[str, str]] = field(default_factory=dict)
    hooks: list[Hook] = field(default_factory=list)
    # For benchmarks: a fixed delay before every ECR call, and a share of calls throttled at random.
    latency_s: float = 0.0
    throttle_rate: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    lock: threading.RLock = field(default_factory=threading.RLock)

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.delete_items.clear()
            self.hooks.clear()
            self.latency_s = 0.0
            self.throttle_rate = 0.0

    def run_hooks(self, operation: str, params: dict[str, Any]) -> None:
        with self.lock:
            due = [h for h in self.hooks if h.operation == operation and (h.times is None or h.times > 0)]
            for hook in due:
                if hook.times is not None:
                    hook.times -= 1
        for hook in due:
            hook.action(params)

    def check(self, operation: str, repository: str | None, region: str | None = None) -> None:
        if self.latency_s:
            time.sleep(self.latency_s)
        if self.throttle_rate:
            with self.lock:
                throttled = self.rng.random() < self.throttle_rate
            if throttled:
                raise JsonRESTError("ThrottlingException", "Rate exceeded")
        with self.lock:
            for fault in self.calls:
                if fault.operation != operation or fault.repository not in (None, repository):
                    continue
                if fault.region not in (None, region):
                    continue
                if fault.times is not None:
                    if fault.times <= 0:
                        continue
                    fault.times -= 1
                # JsonRESTError, not ServiceException: moto serializes a ServiceException through
                # the ECR model, which has no AccessDeniedException or ThrottlingException.
                raise JsonRESTError(fault.code, fault.message)


faults = Faults()


def faulty(operation: str, repository_of: Callable[[ECRResponse], str | None]) -> Callable[..., Any]:
    """Wrap the handler of `operation`: the injected hooks run, then the injected faults apply, then it serves."""

    def wrap(method: Callable[[ECRResponse], ActionResult]) -> Callable[[ECRResponse], ActionResult]:
        def checked(self: ECRResponse) -> ActionResult:
            faults.run_hooks(operation, _json_body(self))
            faults.check(operation, repository_of(self), self.region)
            return method(self)

        checked.__name__ = method.__name__
        return checked

    return wrap


def _json_body(response: ECRResponse) -> dict[str, Any]:
    body = response.body.decode() if isinstance(response.body, bytes) else response.body
    return json.loads(body) if body else {}


def repository_param(response: ECRResponse) -> str | None:
    return response._get_param("repositoryName")


def repository_of_arn(response: ECRResponse) -> str | None:
    arn = response._get_param("resourceArn") or ""
    return arn.split(":repository/", 1)[-1] or None
