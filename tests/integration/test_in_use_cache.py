"""The in-use cache: what can never change is described once and remembered, what can change is read
every night, and a cache that cannot be used costs a full scan (and says so), never a wrong verdict.
Through the real lambda_handler against the corrected emulator, night after night."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest

from emulator.seed import create_repository, push
from tests.integration.conftest import Invoke, Refuse
from tests.integration.images import digests
from tests.output import Invocation

ACCOUNT = "123456789012"
REGISTRY = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/workload"
BUCKET = "ecr-sweeper-in-use-cache"
KEY = f"in-use-cache/{ACCOUNT}/us-east-1.json"
CACHE = {"IN_USE_CACHE_BUCKET": BUCKET, "POWERTOOLS_LOG_LEVEL": "DEBUG"}
# The calls that are not the scan's: the sweep's own (ECR) and the cache's (S3, and STS for the account).
NOT_THE_SCAN = ("ecr:", "s3:", "sts:")


def ago(days: float) -> datetime:
    return datetime.now(timezone.utc) - timedelta(days=days)


def client(service: str) -> Any:
    return boto3.client(service, region_name="us-east-1")


@pytest.fixture
def bucket(ecr: Any) -> Any:
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET)
    return s3


def cached(s3: Any) -> dict[str, Any]:
    return dict(json.loads(s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read()))


def register(family: str, digest: str) -> str:
    containers = [{"name": "c", "image": f"{REGISTRY}/app@{digest}", "memory": 128}]
    return str(client("ecs").register_task_definition(family=family, containerDefinitions=containers)[
        "taskDefinition"]["taskDefinitionArn"])  # fmt: skip


def create_function(name: str, digest: str) -> None:
    """An image function with its $LATEST and one published version, both on `digest`."""
    client("lambda").create_function(
        FunctionName=name, Role=ROLE, PackageType="Image", Code={"ImageUri": f"{REGISTRY}/app@{digest}"}, Publish=True
    )


def night(invoke: Invoke, calls: Counter[str], **kwargs: Any) -> Invocation:
    calls.clear()
    run = invoke(env=CACHE, **kwargs)
    return run


def described(calls: Counter[str]) -> tuple[int, int]:
    return calls["ecs:DescribeTaskDefinition"], calls["lambda:GetFunction"]


def scan_calls(calls: Counter[str]) -> int:
    return sum(n for call, n in calls.items() if not call.startswith(NOT_THE_SCAN))


def verdicts(run: Invocation) -> dict[str, tuple[str, str]]:
    return {r["digest"]: (r["action"], r["reason"]) for r in run.records(record_type="verdict")}


def test_night_two_describes_only_new_revisions_and_versions_and_reads_latest_every_night(
    ecr: Any, bucket: Any, invoke: Invoke, calls: Counter[str]
) -> None:
    # Given three ACTIVE revisions (a service scaled to zero runs one of them) and two image
    # functions with one published version each, every one pinning an old untagged digest
    create_repository(ecr, "app", "1")
    pinned = {name: push(ecr, "app", name, pushed_at=ago(30)) for name in ("a", "b", "c", "fn-a", "fn-b")}
    revisions = {family: register(family, pinned[family]) for family in ("a", "b", "c")}
    ecs = client("ecs")
    ecs.create_cluster(clusterName="main")
    ecs.create_service(cluster="main", serviceName="web", taskDefinition=revisions["a"], desiredCount=0)
    client("iam").create_role(RoleName="workload", AssumeRolePolicyDocument="{}")
    for name in ("fn-a", "fn-b"):
        create_function(name, pinned[name])

    first = night(invoke, calls)

    # Night 1 (no cache yet) describes every revision once, and each function's $LATEST and version 1
    assert first.error is None and described(calls) == (3, 4)
    assert first.metric("InUseScanCalls") == scan_calls(calls) == first.result["inUseScanCalls"]  # type: ignore[index]

    # When a revision is registered and fn-a's code moves to a new published version before night 2
    pinned |= {name: push(ecr, "app", name, pushed_at=ago(30)) for name in ("d", "v2")}
    revisions["d"] = register("d", pinned["d"])
    lam = client("lambda")
    lam.update_function_code(FunctionName="fn-a", ImageUri=f"{REGISTRY}/app@{pinned['v2']}")
    lam.publish_version(FunctionName="fn-a")
    second = night(invoke, calls)

    # Then night 2 describes only the new revision, reads both $LATEST again and the new version 2
    assert second.error is None and described(calls) == (1, 3)
    # every listing is read again, and the metric, the summary and the record count the same calls
    assert calls["ecs:ListTaskDefinitions"] == calls["lambda:ListFunctions"] == calls["ecs:DescribeServices"] == 1
    assert second.metric("InUseScanCalls") == scan_calls(calls) == second.result["inUseScanCalls"]  # type: ignore[index]
    [record] = second.records(record_type="in_use_scan")
    assert (record["api_calls"], record["answered_from_cache"]) == (scan_calls(calls), 5)
    # And what the cache answered protects as the API did: fn-a's version 1 and revision b are
    # known from night 1 only, and still keep their digests
    assert digests(ecr, "app") == set(pinned.values())
    assert verdicts(second)[pinned["fn-a"]] == (
        "kept",
        f"in use by lambda arn:aws:lambda:us-east-1:{ACCOUNT}:function:fn-a:1",
    )
    assert verdicts(second)[pinned["b"]] == ("kept", f"in use by ecs {revisions['b']}")
    written = cached(bucket)
    assert written["formatVersion"] == 1 and (written["account"], written["region"]) == (ACCOUNT, "us-east-1")
    assert set(written["taskDefinitions"]) == set(revisions.values())
    # $LATEST is never cached: it changes with every code update
    assert set(written["functionVersions"]) == {"fn-a:1", "fn-a:2", "fn-b:1"}


def test_a_dry_run_fills_the_cache_as_a_real_run_does_so_the_first_real_night_starts_warm(
    ecr: Any, bucket: Any, invoke: Invoke, calls: Counter[str]
) -> None:
    # Given two revisions pinning old digests, and an expired digest that nothing uses
    create_repository(ecr, "app", "1")
    pinned = {push(ecr, "app", family, pushed_at=ago(30)): family for family in ("a", "b")}
    for digest, family in pinned.items():
        register(family, digest)
    unused = push(ecr, "app", "unused", pushed_at=ago(30))

    # When a dry run (a preview night, or one invoked by hand) runs first
    preview = night(invoke, calls, event={"dryRun": True})

    # Then it deletes nothing and describes both revisions, and the real night after it describes
    # none: the dry run wrote the cache
    assert preview.error is None and described(calls) == (2, 0)
    assert digests(ecr, "app") == {*pinned, unused}
    assert len(cached(bucket)["taskDefinitions"]) == 2
    real = night(invoke, calls)
    assert real.error is None and described(calls) == (0, 0)
    assert digests(ecr, "app") == set(pinned)


def test_a_deregistered_revision_stops_protecting_on_night_two(
    ecr: Any, bucket: Any, invoke: Invoke, calls: Counter[str]
) -> None:
    # Given two ACTIVE revisions pinning old untagged digests, known to the cache after night 1
    create_repository(ecr, "app", "1")
    retired_digest, active_digest = (
        push(ecr, "app", "retired", pushed_at=ago(30)),
        push(ecr, "app", "active", pushed_at=ago(30)),
    )
    retired, active = register("retired", retired_digest), register("active", active_digest)
    night(invoke, calls)
    assert digests(ecr, "app") == {retired_digest, active_digest}
    assert set(cached(bucket)["taskDefinitions"]) == {retired, active}

    # When one is deregistered
    client("ecs").deregister_task_definition(taskDefinition=retired)
    second = night(invoke, calls)

    # Then night 2 lists it no more: its digest is deleted, and the cache forgets it
    assert second.error is None and described(calls) == (0, 0)
    assert digests(ecr, "app") == {active_digest}
    assert set(cached(bucket)["taskDefinitions"]) == {active}


def test_a_function_created_again_under_the_same_name_is_read_again(
    ecr: Any, bucket: Any, invoke: Invoke, calls: Counter[str]
) -> None:
    # Given an image function whose version 1 pins an old digest, known to the cache after night 1
    create_repository(ecr, "app", "1")
    before = push(ecr, "app", "before", pushed_at=ago(30))
    client("iam").create_role(RoleName="workload", AssumeRolePolicyDocument="{}")
    create_function("fn", before)
    night(invoke, calls)

    # When the function is deleted and created again: its new version 1 runs another (old) image
    client("lambda").delete_function(FunctionName="fn")
    after = push(ecr, "app", "after", pushed_at=ago(30))
    create_function("fn", after)
    second = night(invoke, calls)

    # Then version 1 is read again (its fingerprint changed), and only what it runs now is kept
    assert second.error is None and described(calls) == (0, 2)
    assert digests(ecr, "app") == {after}


def _unreadable(case: str, s3: Any, refuse: Refuse) -> None:
    if case == "not JSON":
        s3.put_object(Bucket=BUCKET, Key=KEY, Body=b'{"formatVersion": 1, "taskDef')
    elif case == "another format version":
        s3.put_object(Bucket=BUCKET, Key=KEY, Body=json.dumps({**cached(s3), "formatVersion": 99}).encode())
    elif case == "another account's":
        s3.put_object(Bucket=BUCKET, Key=KEY, Body=json.dumps({**cached(s3), "account": "210987654321"}).encode())
    elif case == "AccessDenied":
        refuse("s3", "GetObject", "AccessDenied")


@pytest.mark.parametrize(
    ("case", "why"),
    [
        ("missing", None),
        ("not JSON", "is not a cache this sweeper reads"),
        ("another format version", "format version 99, this sweeper reads 1"),
        ("another account's", "written for 210987654321/us-east-1"),
        ("AccessDenied", "could not be read: AccessDenied"),
    ],
)
def test_a_cache_that_cannot_be_used_means_a_full_scan_that_says_why(
    ecr: Any, bucket: Any, invoke: Invoke, calls: Counter[str], refuse: Refuse, case: str, why: str | None
) -> None:
    # Given two revisions pinning old digests, and a cache that night 1 wrote (unless it is missing)
    create_repository(ecr, "app", "1")
    pinned = {push(ecr, "app", family, pushed_at=ago(30)): family for family in ("a", "b")}
    for digest, family in pinned.items():
        register(family, digest)
    if case != "missing":
        night(invoke, calls)
    # that is now unreadable in one way
    _unreadable(case, bucket, refuse)

    run = night(invoke, calls)

    # Then the run describes every revision again, protects what they name, and goes on
    assert run.error is None and described(calls) == (2, 0)
    assert digests(ecr, "app") == set(pinned)
    warnings = run.records(record_type="in_use_cache_error")
    if why is None:
        # A missing object is just an empty cache: nothing to warn about
        assert warnings == []
    else:
        [warning] = warnings
        assert (warning["level"], warning["action"]) == ("WARNING", "read")
        assert why in warning["error"] and f"s3://{BUCKET}/{KEY}" in warning["error"]
        assert "full scan" in warning["message"]
    if case != "AccessDenied":
        # and writes a good cache back for the next night
        assert len(cached(bucket)["taskDefinitions"]) == 2


def test_a_cache_that_cannot_be_written_warns_and_the_next_night_scans_in_full(
    ecr: Any, bucket: Any, invoke: Invoke, calls: Counter[str], refuse: Refuse
) -> None:
    # Given a revision pinning an old digest, an expired digest nothing uses, and a bucket the role may not write
    create_repository(ecr, "app", "1")
    pinned, unused = push(ecr, "app", "pinned", pushed_at=ago(30)), push(ecr, "app", "unused", pushed_at=ago(30))
    register("web", pinned)
    refuse("s3", "PutObject", "AccessDenied")

    first = night(invoke, calls)

    # Then the run sweeps as it would without a cache, and warns
    assert first.error is None and digests(ecr, "app") == {pinned}, unused
    [warning] = first.records(record_type="in_use_cache_error")
    assert (warning["level"], warning["action"]) == ("WARNING", "write")
    assert "could not be written: AccessDenied" in warning["error"]
    # And the next night has nothing cached: it describes the revision again
    night(invoke, calls)
    assert described(calls) == (1, 0)


@dataclass
class Clock:
    """A Lambda context with plenty of time for `plenty_for` clock reads, then 20 seconds."""

    plenty_for: int
    reads: int = 0
    aws_request_id: str = "in-use-cache-test"

    def get_remaining_time_in_millis(self) -> int:
        self.reads += 1
        return 900_000 if self.reads <= self.plenty_for else 20_000


def test_a_full_scan_that_does_not_fit_in_the_time_left_fails_closed_and_the_next_night_goes_on(
    ecr: Any, bucket: Any, invoke: Invoke, calls: Counter[str]
) -> None:
    # Given five revisions to describe (a cold cache) and an expired digest that nothing uses
    create_repository(ecr, "app", "1")
    unused = push(ecr, "app", "unused", pushed_at=ago(30))
    for n in range(5):
        client("ecs").register_task_definition(
            family=f"td-{n}", containerDefinitions=[{"name": "c", "image": "nginx:1", "memory": 128}]
        )

    # When the invocation's time runs short after two describe calls
    run = night(invoke, calls, context=Clock(plenty_for=2))

    # Then nothing is deleted, and the run fails naming the in-use scan, the cause and the fix
    assert digests(ecr, "app") == {unused}
    assert run.error is not None
    assert str(run.error).startswith("in-use scan failed: the full scan did not finish in the time left (")
    [failed] = run.records(record_type="in_use_scan_failed")
    assert failed["source"] == "in-use scan"
    assert failed["cause"].startswith("the full scan did not finish in the time left (less than 30 s")
    assert "IN_USE_CACHE_BUCKET" in failed["fix"]
    assert run.metric("InUseScanFailures") == 1 and run.metric("ImagesDeleted") == 0
    assert calls["ecs:DescribeTaskDefinition"] == 2
    assert run.metric("InUseScanCalls") == scan_calls(calls) == failed["api_calls"]
    # And what it read is cached: the next night, with time enough, describes only the other three
    again = night(invoke, calls)
    assert again.error is None and described(calls) == (3, 0)
    assert digests(ecr, "app") == set()
