"""Given the same repository in several regions, when one sweep covers them all, then each region is
swept on its own: one that fails does not stop the others, and the summary lists each region."""

from __future__ import annotations

from typing import Any

import boto3

from emulator.ecr import Fault, faults
from emulator.identity import OWN
from emulator.seed import create_repository, push
from tests.integration.conftest import Invoke
from tests.integration.images import ago, digests


def test_every_region_is_swept_and_one_that_fails_does_not_stop_the_others(ecr: Any, invoke: Invoke) -> None:
    # Given an expired digest in each of three regions, and the repositories of eu-west-1 unreadable
    west = boto3.client("ecr", **{**OWN, "region_name": "eu-west-1"})
    for client, region in (
        (ecr, "us-east-1"),
        (west, "eu-west-1"),
        (boto3.client("ecr", **{**OWN, "region_name": "ap-south-1"}), "ap-south-1"),
    ):
        create_repository(client, "app", "1")
        push(client, "app", f"old-{region}", pushed_at=ago(5), region=region)
    faults.calls.append(Fault("DescribeRepositories", "AccessDeniedException", region="eu-west-1"))

    # When one sweep covers the three regions
    run = invoke(env={"REGIONS": "us-east-1,eu-west-1,ap-south-1"})
    faults.reset()

    # Then the two readable regions are swept, and the run fails naming the other one and why
    assert digests(ecr, "app") == set()
    assert len(digests(west, "app")) == 1
    assert run.error is not None and "eu-west-1" in str(run.error) and "AccessDeniedException" in str(run.error)
    deleted = run.records(action="deleted")
    assert sorted(r["region"] for r in deleted) == ["ap-south-1", "us-east-1"]
    [failure] = run.records(record_type="region_error")
    assert failure["region"] == "eu-west-1" and failure["level"] == "ERROR"
    assert run.metric("ImagesDeleted") == 2
    assert run.emitted.metric_blobs[0]["regions"] == ["us-east-1", "eu-west-1", "ap-south-1"]


def test_the_summary_of_several_regions_lists_each(ecr: Any, invoke: Invoke) -> None:
    # Given a repository in two regions, with an expired digest in eu-west-1 only
    west = boto3.client("ecr", **{**OWN, "region_name": "eu-west-1"})
    create_repository(ecr, "app", "1")
    create_repository(west, "app", "1")
    push(west, "app", "old", pushed_at=ago(5), region="eu-west-1")

    # When one sweep covers both regions
    run = invoke(env={"REGIONS": "us-east-1,eu-west-1"})

    # Then the summary has the totals, one entry per region in order, and the region of each repository
    assert run.error is None
    assert run.result["imagesDeleted"] == 1  # type: ignore[index]
    assert [(r["region"], r["imagesDeleted"]) for r in run.result["regions"]] == [("us-east-1", 0), ("eu-west-1", 1)]  # type: ignore[index]
    assert {r["region"] for r in run.result["repositories"]} == {"us-east-1", "eu-west-1"}  # type: ignore[index]
