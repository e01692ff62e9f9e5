"""The in-use scan's bookkeeping and failure modes, against stubbed clients (no emulator)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from ecr_sweeper.aws.in_use.scan import SOURCES, scan
from ecr_sweeper.aws.in_use.values import InUse, InUseScanFailed, ScanOptions
from ecr_sweeper.core.model import Protection, Use
from ecr_sweeper.core.settings import Consumers

HOST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
DIGEST = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32
TASK = Use(Protection.ECS, "arn:aws:ecs:us-east-1:123456789012:task/c/1")
FUNCTION = Use(Protection.LAMBDA, "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST")


def test_a_digest_is_protected_whatever_repository_the_reference_named() -> None:
    # Given an empty set of digests in use
    in_use = InUse()

    # When a task names the digest in repository api and a function names it in another repository, with a tag too
    in_use.add_reference(f"{HOST}/api@{DIGEST}", TASK)
    in_use.add_reference(f"{HOST}/other-repo:tag@{DIGEST}", FUNCTION)

    # Then the digest has both users, and it is one digest
    assert in_use.users(DIGEST) == (TASK, FUNCTION)
    assert in_use.count == 1


def test_tag_only_and_foreign_references_protect_nothing() -> None:
    # Given an empty set of digests in use
    in_use = InUse()

    # When it is given a tag without a digest, a digest in another registry, no image and a malformed digest
    in_use.add_reference(f"{HOST}/api:prod", TASK)
    in_use.add_reference(f"docker.io/library/redis@{DIGEST}", TASK)
    in_use.add(None, TASK)
    in_use.add("sha256:not-a-digest", TASK)

    # Then no digest is in use
    assert in_use.count == 0


def test_a_workload_is_listed_once_per_digest_and_families_are_counted() -> None:
    # Given an empty set of digests in use
    in_use = InUse()

    # When a task uses one digest twice and a function uses it once, and the task also uses a second digest
    for _ in range(2):
        in_use.add(DIGEST, TASK)
    in_use.add(DIGEST, FUNCTION)
    in_use.add(OTHER, TASK)

    # Then the first digest lists the task and the function once each
    assert in_use.users(DIGEST) == (TASK, FUNCTION)
    # And the families count each use of a digest once: two for ECS, one for Lambda
    assert in_use.by_family() == {"Ecs": 2, "Lambda": 1}


def test_the_users_of_one_digest_cost_no_more_comparisons_than_there_are_users(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given one digest that thousands of task definition revisions name (a pipeline that registers a
    # revision per deployment for an unchanged image), and a count of every comparison of two users
    compared = 0
    equal = Use.__eq__

    def counting(self: Use, other: object) -> bool:
        nonlocal compared
        compared += 1
        return equal(self, other)

    monkeypatch.setattr(Use, "__eq__", counting)
    in_use = InUse()
    revisions = [
        Use(Protection.ECS, f"arn:aws:ecs:us-east-1:123456789012:task-definition/web:{n}") for n in range(3000)
    ]

    # When the scan finds each of them, and then each again (a service's deployment names one it listed)
    for use in revisions + revisions:
        in_use.add(DIGEST, use)

    # Then each is kept once, in the order found, and the scan compared users a linear number of
    # times (a list's membership test compared about 3000 * 3000 pairs: the 20,000-revision account of
    # the bench spent most of its in-use scan there)
    assert in_use.users(DIGEST) == tuple(revisions)
    assert compared <= 2 * len(revisions)


def in_order(*args: Any, **kwargs: Any) -> Any:
    """The scan, one part after the other: a Stubber answers in the order its responses were queued."""
    return scan(*args, serial=True, **kwargs)


class Stubs:
    """One stubbed client per scanned service; every service answers "nothing here" unless a
    test queues responses for it."""

    def __init__(self, region: str = "us-east-1") -> None:
        self.clients = {
            service: boto3.client(service, region_name=region, config=Config(retries={"total_max_attempts": 1}))
            for service, _ in SOURCES
        }
        self.stubs = {service: Stubber(client) for service, client in self.clients.items()}

    def connect(self, service: str, **_: Any) -> Any:
        return self.clients[service]

    def empty(self, *services: str) -> None:
        for service in services:
            stub = self.stubs[service]
            if service == "lambda":
                stub.add_response("list_functions", {"Functions": []})
            elif service == "ecs":
                stub.add_response("list_clusters", {"clusterArns": []})
                stub.add_response("list_task_definitions", {"taskDefinitionArns": []})
            elif service == "batch":
                stub.add_response("describe_job_definitions", {"jobDefinitions": []})
            elif service == "apprunner":
                stub.add_response("list_services", {"ServiceSummaryList": []})
            elif service == "sagemaker":
                stub.add_response("list_models", {"Models": []})
            elif service == "eks":
                stub.add_response("list_clusters", {"clusters": []})
            elif service == "inspector2":
                stub.add_response("list_coverage", {"coveredResources": []})


@pytest.fixture
def stubs() -> Iterator[Stubs]:
    stubs = Stubs()
    with ExitStack() as stack:
        for stub in stubs.stubs.values():
            stack.enter_context(stub)
        yield stubs


def test_a_denied_listing_fails_the_scan_naming_source_cause_and_fix(stubs: Stubs) -> None:
    # Given Lambda and ECS that list nothing, and Batch that denies DescribeJobDefinitions
    stubs.empty("lambda", "ecs")
    stubs.stubs["batch"].add_client_error(
        "describe_job_definitions", "AccessDeniedException", "not authorized to perform batch:DescribeJobDefinitions"
    )

    # When the scan runs
    with pytest.raises(InUseScanFailed) as failed:
        in_order(stubs.connect)

    # Then it fails, naming the source, the cause and the permission to add to the function's role
    assert failed.value.source == "batch DescribeJobDefinitions"
    assert failed.value.cause.startswith("AccessDeniedException: not authorized")
    assert "allow batch:DescribeJobDefinitions to the function's role" in failed.value.fix
    assert str(failed.value).startswith("in-use source batch DescribeJobDefinitions could not be read")


def test_throttling_after_every_retry_says_the_next_run_reads_it_again(stubs: Stubs) -> None:
    # Given Lambda throttles ListFunctions on the only attempt the stubbed client makes
    stubs.stubs["lambda"].add_client_error("list_functions", "TooManyRequestsException", "Rate exceeded")

    # When the scan runs
    with pytest.raises(InUseScanFailed) as failed:
        in_order(stubs.connect)

    # Then it fails, and the fix says that ListFunctions was throttled
    assert "lambda:ListFunctions was throttled" in failed.value.fix


def test_describe_tasks_failures_fail_the_scan(stubs: Stubs) -> None:
    # Given a cluster with one running task, and DescribeTasks that answers the task with a failure
    arn = "arn:aws:ecs:us-east-1:123456789012:task/c/1"
    stubs.empty("lambda")
    ecs = stubs.stubs["ecs"]
    ecs.add_response("list_clusters", {"clusterArns": ["c"]})
    ecs.add_response("list_services", {"serviceArns": []})
    ecs.add_response("list_tasks", {"taskArns": [arn]})
    ecs.add_response("list_tasks", {"taskArns": []})
    ecs.add_response("describe_tasks", {"tasks": [], "failures": [{"arn": arn, "reason": "MISSING"}]})

    # When the scan runs, then it fails naming ecs DescribeTasks and its failures
    with pytest.raises(InUseScanFailed, match=r"ecs DescribeTasks .*failures"):
        in_order(stubs.connect)


def test_a_lambda_version_deleted_during_the_scan_is_simply_gone(stubs: Stubs) -> None:
    # Given a function version that is listed, but gone (ResourceNotFoundException) when its code is read
    listed = {
        "FunctionName": "f",
        "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:f:3",
        "Version": "3",
        "PackageType": "Image",
    }
    stubs.stubs["lambda"].add_response("list_functions", {"Functions": [listed]})
    stubs.stubs["lambda"].add_client_error("get_function", "ResourceNotFoundException", "Function not found")
    stubs.empty("ecs", "batch", "apprunner", "sagemaker", "eks", "inspector2")

    # When the scan runs, then it succeeds and the version protects nothing
    assert in_order(stubs.connect).count == 0


def test_batch_images_are_read_from_every_container_form(stubs: Stubs) -> None:
    # Given a multinode job definition with an image in each container form: container, node range, ECS task, EKS pod
    # container and EKS init container
    digests = ["sha256:" + f"{n:02d}" * 32 for n in range(5)]
    definition = {
        "jobDefinitionName": "j",
        "jobDefinitionArn": "arn:aws:batch:us-east-1:123456789012:job-definition/j:1",
        "revision": 1,
        "type": "multinode",
        "status": "ACTIVE",
        "containerProperties": {"image": f"{HOST}/a@{digests[0]}"},
        "nodeProperties": {
            "numNodes": 1,
            "mainNode": 0,
            "nodeRangeProperties": [{"targetNodes": "0", "container": {"image": f"{HOST}/b@{digests[1]}"}}],
        },
        "ecsProperties": {"taskProperties": [{"containers": [{"image": f"{HOST}/c@{digests[2]}"}]}]},
        "eksProperties": {
            "podProperties": {
                "containers": [{"image": f"{HOST}/d@{digests[3]}"}],
                "initContainers": [{"image": f"{HOST}/e@{digests[4]}"}],
            }
        },
    }
    stubs.empty("lambda", "ecs")
    stubs.stubs["batch"].add_response("describe_job_definitions", {"jobDefinitions": [definition]})
    stubs.empty("apprunner", "sagemaker", "eks", "inspector2")

    # When the scan runs
    in_use = in_order(stubs.connect)

    # Then each of the five digests is in use
    assert {d for d in digests if in_use.users(d)} == set(digests)
    # And the job definition is named as the user
    assert str(in_use.users(digests[4])[0]) == f"batch {definition['jobDefinitionArn']}"


def test_a_sagemaker_model_built_from_a_model_package_protects_the_packages_images(stubs: Stubs) -> None:
    # Given a SageMaker model whose only container names a model package, and the package's image by digest
    model_arn = "arn:aws:sagemaker:us-east-1:123456789012:model/m"
    stubs.empty("lambda", "ecs", "batch", "apprunner")
    sagemaker = stubs.stubs["sagemaker"]
    sagemaker.add_response(
        "list_models", {"Models": [{"ModelName": "m", "ModelArn": model_arn, "CreationTime": "2026-01-01T00:00:00Z"}]}
    )
    sagemaker.add_response(
        "describe_model",
        {
            "ModelName": "m",
            "ModelArn": model_arn,
            "CreationTime": "2026-01-01T00:00:00Z",
            "Containers": [{"ModelPackageName": "pkg/1"}],
        },
    )
    sagemaker.add_response(
        "describe_model_package",
        {
            "ModelPackageName": "pkg",
            "ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/pkg/1",
            "CreationTime": "2026-01-01T00:00:00Z",
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": []},
            "InferenceSpecification": {
                "Containers": [{"Image": f"{HOST}/model:v1", "ImageDigest": DIGEST}],
                "SupportedContentTypes": [],
                "SupportedResponseMIMETypes": [],
            },
        },
    )
    stubs.empty("eks", "inspector2")

    # When the scan runs
    in_use = in_order(stubs.connect)

    # Then the digest is in use by the model
    assert in_use.users(DIGEST) == (Use(Protection.SAGEMAKER, model_arn),)


def test_a_service_that_the_region_does_not_offer_is_skipped_after_one_quick_attempt() -> None:
    # Given a scan in sa-east-1, where App Runner is not offered and its endpoint does not answer
    # App Runner is not in sa-east-1 (the SDK's endpoint data), and its endpoint does not answer.
    stubs = Stubs(region="sa-east-1")
    closed = boto3.client(
        "apprunner",
        region_name="sa-east-1",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=1),
    )
    attempts: list[dict[str, Any]] = []

    def connect(service: str, **kwargs: Any) -> Any:
        if service == "apprunner":
            attempts.append(kwargs)
            return closed
        return stubs.clients[service]

    # When the scan runs
    with ExitStack() as stack:
        for service, stub in stubs.stubs.items():
            if service != "apprunner":
                stack.enter_context(stub)
        stubs.empty("lambda", "ecs", "batch", "sagemaker", "eks", "inspector2")
        in_use = scan(connect)

    # Then App Runner is skipped, after one more client asked for with a single attempt
    assert in_use.skipped == ["apprunner"]
    assert attempts == [{}, {"attempts": 1}]


def test_an_offered_service_that_cannot_be_reached_fails_closed() -> None:
    # Given a Lambda client whose endpoint does not answer, in a region that offers Lambda
    unreachable = boto3.client(
        "lambda",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=1),
    )

    # When the scan runs
    with pytest.raises(InUseScanFailed) as failed:
        scan(lambda service, **_: unreachable)

    # Then it fails closed, naming ListFunctions and saying to let the function reach the endpoint
    assert failed.value.source == "lambda ListFunctions"
    assert "let the function reach http://127.0.0.1:9" in failed.value.fix


def test_a_consumer_accounts_role_is_assumed_in_the_partition_of_the_swept_region() -> None:
    # Given a sweeper in the China partition's cn-north-1, with one consumer account
    stubs = Stubs(region="cn-north-1")
    stubs.clients["sts"] = boto3.client("sts", region_name="cn-north-1")
    stubs.stubs["sts"] = Stubber(stubs.clients["sts"])
    stubs.stubs["sts"].add_response(
        "get_caller_identity",
        {"Account": "123456789012", "Arn": "arn:aws-cn:sts::123456789012:assumed-role/sweeper/s", "UserId": "A:s"},
    )
    assumed: list[str] = []

    def assume(role_arn: str) -> Any:
        assumed.append(role_arn)
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, "AssumeRole")

    # When the scan reads its own account, then the consumer's
    with ExitStack() as stack:
        for stub in stubs.stubs.values():
            stack.enter_context(stub)
        stubs.empty(*(service for service, _ in SOURCES))
        with pytest.raises(InUseScanFailed) as failed:
            in_order(stubs.connect, ScanOptions(consumers=Consumers(accounts=("210987654321",))), assume)

    # Then the reader role's ARN is in the region's partition (aws-cn), and the failure names the account
    assert assumed == ["arn:aws-cn:iam::210987654321:role/ecr-sweeper-reader"]
    assert failed.value.source == "account 210987654321 sts AssumeRole"
    assert "consumerAccountsIgnored=['210987654321']" in failed.value.fix


def test_the_sweepers_own_account_is_never_read_as_a_consumer(stubs: Stubs) -> None:
    # Given the consumer list names the sweeper's own account only
    stubs.clients["sts"] = boto3.client("sts", region_name="us-east-1")
    sts = Stubber(stubs.clients["sts"])
    sts.add_response(
        "get_caller_identity",
        {"Account": "123456789012", "Arn": "arn:aws:sts::123456789012:assumed-role/sweeper/s", "UserId": "A:s"},
    )
    stubs.empty(*(service for service, _ in SOURCES))

    def assume(role_arn: str) -> Any:
        raise AssertionError(f"assumed {role_arn}")

    # When the scan runs
    with sts:
        in_use = in_order(stubs.connect, ScanOptions(consumers=Consumers(accounts=("123456789012",))), assume)

    # Then its workloads were read once, directly, and no role was assumed
    assert in_use.consumer_accounts == []


def test_every_ignored_account_is_reported_even_without_consumer_accounts(stubs: Stubs) -> None:
    # Given accounts listed as ignored, and no consumer account: nothing to assume, nothing to list
    stubs.empty(*(service for service, _ in SOURCES))

    # When the scan runs
    in_use = in_order(stubs.connect, ScanOptions(consumers=Consumers(ignored=("210987654321", "310987654321"))))

    # Then the run still warns about each of them (consumer_account_ignored)
    assert in_use.ignored_accounts == ["210987654321", "310987654321"]
    assert in_use.consumer_accounts == []


def test_the_endpoint_data_is_read_once_per_scan(stubs: Stubs, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no service's regions known yet, and the sessions that read the endpoint data counted
    from ecr_sweeper.aws import clients
    from ecr_sweeper.aws.in_use import calls

    monkeypatch.setattr(calls, "_REGIONS", {})
    sessions: list[object] = []
    endpoint_data = clients.endpoint_data

    def counting() -> Any:
        sessions.append(object())
        return endpoint_data()

    monkeypatch.setattr(clients, "endpoint_data", counting)
    stubs.empty(*(service for service, _ in SOURCES))

    # When every source is scanned
    in_order(stubs.connect)

    # Then one session read the endpoint data of all of them
    assert len(sessions) == 1
    assert {service for service, _ in calls._REGIONS} == {service for service, _ in SOURCES}
