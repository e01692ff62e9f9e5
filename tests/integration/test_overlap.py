"""Given a registry with digests that must stay and digests that expire, when a second sweep starts
and finishes in the middle of the first (no reserved concurrency), then nothing that must stay is
deleted, each expired digest is deleted once, and neither run reports a failure."""

from __future__ import annotations

from typing import Any

from emulator.ecr import Hook, faults
from emulator.seed import create_repository, push, push_index
from tests.integration.conftest import Invoke
from tests.integration.images import ago, digests, untagged
from tests.output import Invocation, invoke_captured


def test_two_overlapping_sweeps_delete_nothing_wrong_and_report_no_failure(ecr: Any, invoke: Invoke) -> None:
    # Given a registry with what must stay (tagged, young, a child of a tagged index) and what expires
    create_repository(ecr, "app", "3")
    keep = {
        push(ecr, "app", "tagged", tag="v1", pushed_at=ago(30)),
        untagged(ecr, "app", "young", 1),
    }
    child = untagged(ecr, "app", "child", 30)
    keep |= {child, push_index(ecr, "app", [child], tag="release", pushed_at=ago(30))}
    expired = {untagged(ecr, "app", f"old-{n}", 30) for n in range(3)}
    second: list[Invocation] = []

    def run_another_sweep(params: dict[str, Any]) -> None:
        # The second sweep starts and finishes between the first one's re-check and its delete call.
        second.append(invoke_captured(None, None))

    faults.hooks.append(Hook("BatchDeleteImage", run_another_sweep, times=1))

    # When two sweeps overlap (no reserved concurrency)
    first = invoke()

    # Then what must stay stays, each expired digest is deleted once, and neither run failed
    [other] = second
    assert digests(ecr, "app") == keep
    assert {r["digest"] for r in other.records(action="deleted")} == expired
    assert first.error is None and other.error is None
    assert {r["digest"] for r in first.records(action="gone")} == expired
    assert first.records(action="deleted") == [] and first.records(action="delete_failed") == []
    assert first.metric("DeleteFailures") == 0
