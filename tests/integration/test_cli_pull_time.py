"""Given a laptop principal that may or may not be a pull-time update exclusion, when the command
line plans, then it reads untagged index manifests only if its reads record no pull, or when told
to with --read-manifests; either way it says so, and a plan never silently extends a digest's life.

ECR records a pull for every BatchGetImage by a principal that is not excluded (ECR user guide,
"Pull time update exclusions"; API reference, RegisterPullTimeUpdateExclusion)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecr_sweeper.cli import main
from emulator.identity import SWEEPER_ROLE
from emulator.seed import create_repository, push_index
from tests.integration.images import ago, untagged

ROLE_ARN = f"arn:aws:iam::123456789012:role/{SWEEPER_ROLE}"
REGISTER = f"aws ecr register-pull-time-update-exclusion --principal-arn {ROLE_ARN} --region us-east-1"


@pytest.fixture
def multi(ecr: Any) -> dict[str, str]:
    """An expired untagged index over an expired child, and an expired lone image."""
    create_repository(ecr, "multi", "3")
    child = untagged(ecr, "multi", "child", 10)
    return {
        "child": child,
        "index": push_index(ecr, "multi", [child], pushed_at=ago(10)),
        "lone": untagged(ecr, "multi", "lone", 10),
    }


def not_excluded(ecr: Any) -> None:
    ecr.deregister_pull_time_update_exclusion(principalArn=ROLE_ARN)


def pulled(ecr: Any, digest: str) -> bool:
    [detail] = ecr.describe_images(repositoryName="multi", imageIds=[{"imageDigest": digest}])["imageDetails"]
    return "lastRecordedPullTime" in detail


def plan(capsys: Any, *args: str) -> tuple[dict[str, dict[str, Any]], str]:
    assert main(["plan", "--output", "json", *args]) == 0
    out, err = capsys.readouterr()
    document = json.loads(out)
    verdicts = {r["digest"]: r for r in document["records"] if r.get("record_type") == "verdict"}
    return verdicts, err


def test_an_excluded_principal_reads_manifests_and_records_no_pull(
    ecr: Any, multi: dict[str, str], capsys: Any
) -> None:
    # Given the principal is an exclusion (the emulator's sweeper role, registered)

    # When the command line plans
    verdicts, err = plan(capsys)

    # Then it read the index (it knows its child) without a warning, and no pull was recorded
    assert "pull-time update exclusion" not in err
    assert verdicts[multi["child"]]["action"] == "would_delete" and "caveat" not in verdicts[multi["child"]]
    assert not pulled(ecr, multi["index"])


def test_without_the_exclusion_a_plan_reads_no_untagged_index_and_says_what_it_could_not_verify(
    ecr: Any, multi: dict[str, str], capsys: Any
) -> None:
    # Given the principal is not an exclusion
    not_excluded(ecr)

    # When the command line plans
    verdicts, err = plan(capsys)

    # Then the index was not read (no pull recorded), the deletions it may forbid are marked
    # unverified, and stderr gives the exact command that registers the exclusion
    assert not pulled(ecr, multi["index"])
    for digest in (multi["child"], multi["lone"]):
        assert verdicts[digest]["caveat"].startswith("unverified: untagged index")
    assert "caveat" not in verdicts[multi["index"]]
    assert REGISTER in err and "--read-manifests" in err


def test_read_manifests_reads_them_and_warns_with_the_command(ecr: Any, multi: dict[str, str], capsys: Any) -> None:
    # Given the principal is not an exclusion
    not_excluded(ecr)

    # When the command line plans with --read-manifests
    verdicts, err = plan(capsys, "--read-manifests")

    # Then it read the index (which ECR recorded as a pull), knows its child, and warned how to stop that
    assert pulled(ecr, multi["index"])
    assert "caveat" not in verdicts[multi["child"]]
    assert "records a pull" in err and REGISTER in err


def test_a_tagged_index_is_read_whoever_reads_it(ecr: Any, capsys: Any) -> None:
    # Given a tagged index over an expired child, and a principal that is not an exclusion: a pull
    # of a tagged index extends nothing, since a tagged index is never deleted
    create_repository(ecr, "multi", "3")
    child = untagged(ecr, "multi", "child", 10)
    push_index(ecr, "multi", [child], tag="v1", pushed_at=ago(10))
    not_excluded(ecr)

    # When the command line plans
    verdicts, _ = plan(capsys)

    # Then the child is kept for its index
    assert verdicts[child]["reason"].startswith("child of kept index")
