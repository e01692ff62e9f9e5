"""The in-use scan reads its accounts, sources and describe calls at once, each call paced by its
account's bucket (core/pacing.py): the same calls as one after the other, the same first user of
each digest, and still fail-closed, through the real lambda_handler against the corrected emulator."""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3
import pytest

from ecr_sweeper.core import pacing
from emulator.identity import OWN_ACCOUNT
from emulator.seed import create_repository, push
from tests.integration.conftest import Invoke, Refuse
from tests.integration.images import ago, digests
from tests.integration.test_consumers import reader_role, task_definition

REGISTRY = f"{OWN_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
CONSUMERS = ["210987654321", "310987654321", "410987654321", "510987654321", "610987654321"]


@pytest.fixture
def buckets(monkeypatch: pytest.MonkeyPatch) -> Counter[tuple[str, str]]:
    """Every token the scan takes, by (account, bucket): the calls it paced."""
    taken: Counter[tuple[str, str]] = Counter()
    take = pacing.Pacer.take

    def counting(self: pacing.Pacer, account: str, service: str, operation: str) -> float:
        taken[(account, pacing.category(service, operation))] += 1
        return take(self, account, service, operation)

    monkeypatch.setattr(pacing.Pacer, "take", counting)
    return taken


def register(family: str, image: str) -> str:
    ecs = boto3.client("ecs", region_name="us-east-1")
    definition = ecs.register_task_definition(
        family=family, containerDefinitions=[{"name": "c", "image": image, "memory": 128}]
    )
    return str(definition["taskDefinition"]["taskDefinitionArn"])


def test_every_call_waits_for_a_token_of_its_own_account_and_category(
    ecr: Any, invoke: Invoke, calls: Counter[str], buckets: Counter[tuple[str, str]]
) -> None:
    # Given 120 ACTIVE task definitions (two pages of ListTaskDefinitions) that name one digest, and
    # a consumer account with one of its own
    create_repository(ecr, "app", "1")
    image = f"{REGISTRY}/app@{push(ecr, 'app', 'x', tag='v1')}"
    for n in range(120):
        register(f"family-{n:03d}", image)
    reader_role(CONSUMERS[0])
    task_definition(CONSUMERS[0], "web", image)
    calls.clear()

    # When the sweeper runs, its scan reading both accounts at once
    run = invoke(env={"CONSUMER_ACCOUNTS": CONSUMERS[0]})

    # Then it made exactly the calls of a scan one call after the other: two pages and 120 describes
    # here, one page and one describe there, and the other sources' empty pages in each
    assert run.error is None
    assert calls["ecs:ListTaskDefinitions"] == 3 and calls["ecs:DescribeTaskDefinition"] == 121
    # and each waited for a token of its account's bucket for its category
    own, theirs = (
        buckets[("", pacing.ECS_TASK_DEFINITION_READS)],
        buckets[(CONSUMERS[0], pacing.ECS_TASK_DEFINITION_READS)],
    )
    assert (own, theirs) == (2 + 120, 1 + 1)
    assert buckets[("", pacing.LAMBDA_CONTROL_PLANE)] == 1 and buckets[(CONSUMERS[0], pacing.LAMBDA_CONTROL_PLANE)] == 1
    assert buckets[("", "sts")] == 2  # who the sweeper is, and the reader role assumed
    scanned = sum(n for call, n in calls.items() if not call.startswith(("ecr:", "s3:", "ssm:")))
    assert run.metric("InUseScanCalls") == scanned == sum(buckets.values())


def test_a_throttled_source_still_fails_the_region_closed(ecr: Any, invoke: Invoke, refuse: Refuse) -> None:
    # Given an expired digest that an ACTIVE task definition names, and ECS throttling every
    # DescribeTaskDefinition past botocore's retries
    create_repository(ecr, "app", "0")
    keep = push(ecr, "app", "x", pushed_at=ago(30))
    register("web", f"{REGISTRY}/app@{keep}")
    refuse("ecs", "DescribeTaskDefinition", "ThrottlingException")

    # When the sweeper runs, with the other sources read at the same time
    run = invoke()

    # Then nothing is deleted, and the failure names the call and says it was throttled
    assert digests(ecr, "app") == {keep}
    [failed] = run.records(record_type="in_use_scan_failed")
    assert failed["source"] == "ecs DescribeTaskDefinition"
    assert "ecs:DescribeTaskDefinition was throttled after every retry" in failed["fix"]
    assert run.metric("InUseScanFailures") == 1


def test_one_unreadable_consumer_account_among_many_fails_the_region_closed_and_names_it(
    ecr: Any, invoke: Invoke
) -> None:
    # Given an expired digest, and five consumer accounts read at once, of which the fourth has no
    # reader role (sts:AssumeRole answers AccessDenied there)
    create_repository(ecr, "app", "0")
    keep = push(ecr, "app", "x", pushed_at=ago(30))
    unreadable = CONSUMERS[3]
    for account in CONSUMERS:
        if account != unreadable:
            reader_role(account)
            task_definition(account, "web", f"{REGISTRY}/app:v1")

    # When the sweeper runs with all five as consumers
    run = invoke(env={"CONSUMER_ACCOUNTS": ",".join(CONSUMERS)})

    # Then nothing is deleted, and the failure names that account, its call and how to fix it
    assert digests(ecr, "app") == {keep}
    [failed] = run.records(record_type="in_use_scan_failed")
    assert failed["source"] == f"account {unreadable} sts AssumeRole"
    assert f"deploy the EcrSweeperReader stack in account {unreadable}" in failed["fix"]
    assert run.metric("ConsumerAccountsScanned") == 0


def test_a_digest_that_several_workloads_use_is_reported_with_the_same_first_user_every_run(
    ecr: Any, invoke: Invoke
) -> None:
    # Given one expired digest that a Lambda function, an ECS task definition and a consumer
    # account's task definition all name
    create_repository(ecr, "app", "0")
    digest = push(ecr, "app", "x", pushed_at=ago(30))
    image = f"{REGISTRY}/app@{digest}"
    register("web", image)
    boto3.client("iam", region_name="us-east-1").create_role(RoleName="workload", AssumeRolePolicyDocument="{}")
    boto3.client("lambda", region_name="us-east-1").create_function(
        FunctionName="fn",
        Role=f"arn:aws:iam::{OWN_ACCOUNT}:role/workload",
        PackageType="Image",
        Code={"ImageUri": image},
    )
    reader_role(CONSUMERS[0])
    task_definition(CONSUMERS[0], "web", image)

    # When the sweeper runs three times, each scan reading every part at once
    reasons = set()
    for _ in range(3):
        run = invoke(env={"CONSUMER_ACCOUNTS": CONSUMERS[0], "POWERTOOLS_LOG_LEVEL": "DEBUG"})
        [verdict] = [r for r in run.records(record_type="verdict") if r["digest"] == digest]
        reasons.add(verdict["reason"])

    # Then the reason names the first source of the function's own account, Lambda, every time
    assert len(reasons) == 1 and next(iter(reasons)).startswith("in use by lambda arn:aws:lambda:")


def test_a_clusters_tasks_are_read_without_waiting_for_its_services(
    ecr: Any, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a cluster with a service, and clients whose DescribeServices waits (up to 5 s) until
    # ListTasks of the same scan has been called: read one after the other, ListTasks would only
    # come after the service's whole chain of calls (list, describe, revisions)
    import threading

    from ecr_sweeper.aws import clients

    create_repository(ecr, "app", "1")
    image = f"{REGISTRY}/app@{push(ecr, 'app', 'x', tag='v1')}"
    ecs = boto3.client("ecs", region_name="us-east-1")
    ecs.create_cluster(clusterName="web")
    ecs.create_service(cluster="web", serviceName="site", taskDefinition=register("site", image), desiredCount=0)
    tasks_listed = threading.Event()
    waited: list[bool] = []
    make = clients.client

    def hooked(service: str, *args: Any, **kwargs: Any) -> Any:
        client = make(service, *args, **kwargs)

        def before(model: Any, **_: Any) -> None:
            if model.name == "ListTasks":
                tasks_listed.set()
            elif model.name == "DescribeServices":
                waited.append(tasks_listed.wait(5))

        client.meta.events.register("before-call", before)
        return client

    monkeypatch.setattr(clients, "client", hooked)

    # When the sweeper runs
    run = invoke()

    # Then the cluster's tasks were listed while its services were still being read
    assert run.error is None
    assert waited == [True]
