"""Shared set-up: the corrected ECR emulator, no real AWS endpoint, fast retries, reset faults."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import emulator
from emulator.ecr import faults

emulator.install()

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


@pytest.fixture(autouse=True)
def retry_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore's retry backoff, recorded instead of slept, so that throttling tests stay fast."""
    import types

    import botocore.endpoint

    sleeps: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=sleeps.append))
    return sleeps


# Tests that take seconds each: a deploy through the pinned CDK CLI, a benchmark or the demo in
# subprocesses, a wheel build, cfn-lint over every variant. `make test` runs them all;
# `make test-fast` (pytest -m "not slow") leaves them out while you work.
SLOW = (
    "tests/e2e/",
    "tests/integration/test_bench.py",
    "tests/integration/test_demo.py",
    "tests/infrastructure/test_cdk_cli.py",
    "tests/infrastructure/test_package.py",
    "tests/infrastructure/test_authorization.py::test_every_variant_passes_cfn_lint",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(SLOW):
            item.add_marker(pytest.mark.slow)
