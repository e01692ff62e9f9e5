"""Exactly one verdict record per untagged digest, even when the deadline cuts a repository short.

Given deletions planned in more than one delete batch, when the invocation's deadline stops them,
then every digest still gets its record: deleted, or deferred to the next run with the reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from emulator.ecr import faults
from emulator.seed import create_repository, push, push_index
from tests.integration.conftest import Invoke
from tests.integration.images import ago, untagged


@dataclass
class Script:
    """A Lambda context whose remaining time is read, check after check, from `left_ms`."""

    left_ms: list[int]
    aws_request_id: str = "deadline-test"
    read: list[int] = field(default_factory=list)

    def get_remaining_time_in_millis(self) -> int:
        value = self.left_ms[min(len(self.read), len(self.left_ms) - 1)]
        self.read.append(value)
        return value


def test_a_digest_refused_as_referenced_then_cut_by_the_deadline_keeps_its_verdict(ecr: Any, invoke: Invoke) -> None:
    # Given an expired untagged index that lists an expired child (two waves: the index first),
    # and an expired digest that ECR refuses in the first wave (an index the sweep cannot see lists it)
    create_repository(ecr, "app", "1")
    old = ago(5)
    child = push(ecr, "app", "child", pushed_at=old)
    index = push_index(ecr, "app", [child], pushed_at=old)
    refused = push(ecr, "app", "refused", pushed_at=old)
    faults.delete_items[refused] = ("ImageReferencedByManifestList", "Requested image referenced by a manifest list")

    # When the deadline allows the repository and its first delete batch, then nothing more
    run = invoke(env={"MAX_WORKERS": "1"}, context=Script([900_000, 900_000, 10_000]))

    # Then each of the three digests has exactly one verdict record
    verdicts = run.records(record_type="verdict")
    assert Counter(r["digest"] for r in verdicts) == {index: 1, child: 1, refused: 1}
    by_digest = {r["digest"]: r for r in verdicts}
    assert by_digest[index]["action"] == "deleted"
    assert by_digest[child]["action"] == "deferred"
    assert by_digest[refused]["action"] == "deferred"
    assert "ImageReferencedByManifestList" in by_digest[refused]["reason"]
    assert by_digest[refused]["reason"].startswith("deadline: left for the next run")
    # And the repository says it was cut, and no deletion is claimed for what was deferred
    [summary] = run.records(record_type="repository_summary")
    assert summary["status"] == "deferred" and summary["images_deleted"] == 1
    assert run.metric("ImagesDeleted") == 1 and run.metric("DeleteFailures") == 0


def test_every_planned_deletion_the_deadline_stops_is_deferred_with_its_record(ecr: Any, invoke: Invoke) -> None:
    # Given 130 expired digests: two delete batches (100, then 30)
    create_repository(ecr, "big", "1")
    planned = {untagged(ecr, "big", f"old-{n}", days=5) for n in range(130)}

    # When the deadline allows only the first batch
    run = invoke(env={"MAX_WORKERS": "1"}, context=Script([900_000, 900_000, 10_000]))

    # Then 100 are deleted and 30 deferred, each with one record at INFO
    actions = Counter(r["action"] for r in run.records(record_type="verdict"))
    assert actions == {"deleted": 100, "deferred": 30}
    assert {r["digest"] for r in run.records(record_type="verdict")} == planned
    assert {r["level"] for r in run.records(action="deferred")} == {"INFO"}
