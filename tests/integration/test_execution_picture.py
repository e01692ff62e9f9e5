"""One in-use picture per Step Functions execution: the scan runs once, in its own step (invoked again,
from the in-use cache, until it is complete), and writes the picture to the work bucket; each batch
reads it instead of scanning, unless it starts more than inUseMaxAgeMinutes after the scan, or the
picture cannot be read; then the batch scans for itself, says why, and leaves the cache alone. Through
the steps' real handler, and the synthesized state machine in moto's interpreter, against the
corrected emulator."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest

from ecr_sweeper.aws.in_use.picture import PictureStore
from ecr_sweeper.aws.in_use.values import InUse
from ecr_sweeper.core.model import Protection, Use
from ecr_sweeper.stepfunctions import handler
from emulator.compute import lambda_in_process
from emulator.identity import OWN, OWN_ACCOUNT
from emulator.seed import create_repository, push
from tests.integration.conftest import LambdaContext
from tests.integration.images import ago, digests
from tests.integration.test_stepfunctions import BUCKET, _run, seed
from tests.output import Invocation, invoke_captured

REGISTRY = f"{OWN_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
CACHE_BUCKET = "ecr-sweeper-in-use-cache"
CACHE_KEY = f"in-use-cache/{OWN_ACCOUNT}/us-east-1.json"
PICTURE = "in-use/execution-1/picture.json"


@pytest.fixture
def work(ecr: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    s3 = boto3.client("s3", **OWN)
    s3.create_bucket(Bucket=BUCKET)
    s3.create_bucket(Bucket=CACHE_BUCKET)
    for name, value in {
        "WORK_BUCKET": BUCKET,
        "IN_USE_CACHE_BUCKET": CACHE_BUCKET,
        "REPOSITORIES_PER_INVOCATION": "2",
        "MAX_WORKERS": "1",
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
    }.items():
        monkeypatch.setenv(name, value)
    return s3


def step(event: dict[str, Any], context: Any = None) -> Invocation:
    return invoke_captured(event, context or LambdaContext(), handler)


def register(family: str, image: str) -> str:
    ecs = boto3.client("ecs", **OWN)
    containers = [{"name": "c", "image": image, "memory": 128}]
    return str(ecs.register_task_definition(family=family, containerDefinitions=containers)["taskDefinition"][
        "taskDefinitionArn"])  # fmt: skip


def write_picture(s3: Any, digest: str, scanned_at: datetime) -> None:
    """What an execution's scan step writes: here, one digest that a task definition runs."""
    found = InUse()
    found.add(digest, Use(Protection.ECS, "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"))
    PictureStore(s3, BUCKET).save(PICTURE, found, account=OWN_ACCOUNT, region="us-east-1", scanned_at=scanned_at)


def sweep(names: list[str], picture: str | None = PICTURE) -> Invocation:
    return step({"step": "sweep", "repositories": names, "dryRun": False, "asOf": None, "picture": picture})


def test_a_batch_reads_the_executions_picture_instead_of_scanning_and_names_its_time(
    work: Any, ecr: Any, calls: Counter[str]
) -> None:
    # Given a digest the execution's picture, written five minutes ago, says is in use, and one it
    # does not name, both expired
    create_repository(ecr, "app", "1")
    used, unused = push(ecr, "app", "used", pushed_at=ago(30)), push(ecr, "app", "unused", pushed_at=ago(30))
    scanned_at = datetime.now(timezone.utc) - timedelta(minutes=5)
    write_picture(work, used, scanned_at)
    calls.clear()

    # When a batch sweeps with it
    run = sweep(["app"])

    # Then the digest the picture names is kept with the picture's reason, the other deleted, and the
    # batch made no call of a scan
    assert run.error is None and digests(ecr, "app") == {used}, unused
    assert not [call for call in calls if call.startswith(("ecs:", "lambda:", "batch:", "eks:", "sagemaker:"))]
    [scanned] = run.records(record_type="in_use_scan")
    assert scanned["scanned_at"] == scanned_at.isoformat() and scanned["picture"] == f"s3://{BUCKET}/{PICTURE}"
    assert scanned["api_calls"] == 0 and f"from the execution's scan at {scanned_at.isoformat()}" in scanned["message"]
    [verdict] = [r for r in run.records(record_type="verdict") if r["digest"] == used]
    assert verdict["reason"].startswith("in use by ecs arn:aws:ecs:")


@pytest.mark.parametrize(
    ("case", "why"),
    [
        ("too old", "minutes ago, more than inUseMaxAgeMinutes=15"),
        ("damaged", "is not an in-use picture this sweeper reads"),
        ("missing", "could not be read: NoSuchKey"),
        ("another account's", "written for 210987654321/us-east-1, not 123456789012/us-east-1"),
    ],
)
def test_a_batch_that_cannot_use_the_picture_scans_for_itself_says_why_and_leaves_the_cache_alone(
    work: Any, ecr: Any, calls: Counter[str], case: str, why: str
) -> None:
    # Given a digest that an ACTIVE task definition names (the picture does not), and a picture that
    # is too old (20 minutes, the limit 15), damaged, missing, or another account's
    create_repository(ecr, "app", "1")
    used = push(ecr, "app", "used", pushed_at=ago(30))
    register("web", f"{REGISTRY}/app@{used}")
    if case == "too old":
        write_picture(work, "sha256:" + "0" * 64, datetime.now(timezone.utc) - timedelta(minutes=20))
    elif case == "damaged":
        work.put_object(Bucket=BUCKET, Key=PICTURE, Body=b"{not json")
    elif case == "another account's":
        found = InUse()
        PictureStore(work, BUCKET).save(
            PICTURE, found, account="210987654321", region="us-east-1", scanned_at=datetime.now(timezone.utc)
        )
    calls.clear()

    # When a batch sweeps with it
    run = sweep(["app"])

    # Then it said why, scanned for itself (the task definition keeps the digest), and wrote no cache
    assert run.error is None and digests(ecr, "app") == {used}
    [unusable] = run.records(record_type="in_use_picture_unusable")
    assert unusable["level"] == "WARNING" and why in unusable["reason"]
    assert calls["ecs:DescribeTaskDefinition"] == 1
    [scanned] = run.records(record_type="in_use_scan")
    assert scanned.get("picture") is None and scanned["api_calls"] > 0
    assert "s3:PutObject" not in calls
    assert "Contents" not in work.list_objects_v2(Bucket=CACHE_BUCKET)


@dataclass
class Clock:
    """A Lambda context with plenty of time for `plenty_for` clock reads, then 20 seconds."""

    plenty_for: int
    reads: int = 0
    aws_request_id: str = "scan-step"

    def get_remaining_time_in_millis(self) -> int:
        self.reads += 1
        return 900_000 if self.reads <= self.plenty_for else 20_000


def test_a_cold_scan_finished_across_invocations_gives_the_picture_of_one_uninterrupted_scan(
    work: Any, ecr: Any, calls: Counter[str]
) -> None:
    # Given seven task definitions to describe on a cold cache, each naming a digest of its own
    create_repository(ecr, "app", "1")
    for n in range(7):
        register(f"td-{n}", f"{REGISTRY}/app@{push(ecr, 'app', f'd{n}', pushed_at=ago(30))}")

    # When the scan step runs with time for three describe calls each invocation, until complete
    invocations, outputs = 0, []
    while True:
        run = step({"step": "scan", "execution": "cold", "invocations": invocations}, Clock(plenty_for=3))
        assert run.error is None and run.result is not None
        outputs.append(run.result)
        invocations = run.result["invocations"]
        if run.result["complete"]:
            break

    # Then it took three invocations, the first two saying the next goes on from the cache
    assert [o["complete"] for o in outputs] == [False, False, True] and invocations == 3
    # And its picture is the picture of one uninterrupted scan (with the cache already full, and
    # without one: the same digests, the same users)
    cold = json.loads(work.get_object(Bucket=BUCKET, Key=outputs[-1]["picture"])["Body"].read())
    work.delete_object(Bucket=CACHE_BUCKET, Key=CACHE_KEY)
    whole = step({"step": "scan", "execution": "whole", "invocations": 0})
    assert whole.result is not None and whole.result["complete"] is True
    uninterrupted = json.loads(work.get_object(Bucket=BUCKET, Key=whole.result["picture"])["Body"].read())
    assert cold["uses"] == uninterrupted["uses"] and len(cold["uses"]) == 7


def test_a_step_functions_execution_of_several_batches_scans_once(
    work: Any, ecr: Any, calls: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 5 repositories in 3 batches, and the synthesized state machine in moto's interpreter
    from moto.core.config import default_user_config

    from tests.integration.test_stepfunctions import machine_definition

    monkeypatch.setitem(default_user_config["stepfunctions"], "execute_state_machine", True)
    names = seed(ecr, 5)
    definition = machine_definition()
    calls.clear()

    # When the schedule starts an execution
    with lambda_in_process() as received:
        execution = _run(definition, {"source": "aws.events", "detail": {}})

    # Then it scanned once, in its scan step, and each of the three batches read that scan's picture
    assert execution["status"] == "SUCCEEDED", execution
    assert calls["ecs:ListClusters"] == 1 and calls["lambda:ListFunctions"] == 1
    assert len([event for event in received if event["step"] == "scan"]) == 1
    sweeps = [event for event in received if event["step"] == "sweep"]
    [picture] = {event["picture"] for event in sweeps}
    assert len(sweeps) == 3 and picture.startswith("in-use/") and picture.endswith("/picture.json")
    assert work.head_object(Bucket=BUCKET, Key=picture)["ContentLength"] > 0
    assert all(digests(ecr, name) == set() for name in names)
