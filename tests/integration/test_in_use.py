"""In use means in use: every reference form, ECS services, Batch, App Runner, SageMaker, and the
fail-closed rule for each source, through the real lambda_handler against the corrected emulator."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from moto.core.exceptions import JsonRESTError

from emulator.ecs_services import finish_rollout
from emulator.seed import create_repository, push
from tests.integration.conftest import Invoke
from tests.integration.images import digests

NOW = datetime.now(timezone.utc)
ACCOUNT = "123456789012"
REGISTRY = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
DUAL_STACK = f"{ACCOUNT}.dkr-ecr.us-east-1.on.aws"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/workload"
DEBUG = {"POWERTOOLS_LOG_LEVEL": "DEBUG"}


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def verdicts(run: Any) -> dict[str, tuple[str, str]]:
    return {r["digest"]: (r["action"], r["reason"]) for r in run.records(record_type="verdict")}


def client(service: str) -> Any:
    return boto3.client(service, region_name="us-east-1")


def register(family: str, image: str) -> str:
    definition = client("ecs").register_task_definition(
        family=family, containerDefinitions=[{"name": "c", "image": image, "memory": 128}]
    )
    return str(definition["taskDefinition"]["taskDefinitionArn"])


# --- 1. every reference form --------------------------------------------------------------------


@pytest.mark.parametrize(
    "form",
    [
        "{registry}/svc@{digest}",
        "{registry}/svc:1.4.2@{digest}",
        "{dual}/svc@{digest}",
        "{dual}/svc:v6@{digest}",
        "{fips}/svc@{digest}",
        # Another repository, or one that does not exist: digests are content hashes.
        "{registry}/team/other@{digest}",
    ],
)
def test_an_active_task_definition_protects_its_digest_in_every_reference_form(
    ecr: Any, invoke: Invoke, form: str
) -> None:
    # Given two expired untagged digests, and an active task definition that names one of them in the reference form of
    # the case
    create_repository(ecr, "svc", "1")
    pinned = push(ecr, "svc", "pinned", pushed_at=ago(30))
    unused = push(ecr, "svc", "unused", pushed_at=ago(30))
    reference = form.format(
        registry=REGISTRY,
        dual=DUAL_STACK,
        fips=f"{ACCOUNT}.dkr.ecr-fips.us-east-1.amazonaws.com",
        digest=pinned,
    )
    definition = register("pinned", reference)

    # When the sweep runs
    run = invoke(env=DEBUG)

    # Then the named digest is kept as in use by the task definition, and the other is deleted
    assert digests(ecr, "svc") == {pinned}, unused
    assert verdicts(run)[pinned] == ("kept", f"in use by ecs {definition}")
    assert run.metric("ProtectedByEcs") == 1


def test_a_digest_in_use_is_protected_in_every_repository_that_holds_it(ecr: Any, invoke: Invoke) -> None:
    # Given the same manifest in two repositories (a copy, or a pull-through cache)
    create_repository(ecr, "team-a", "1")
    create_repository(ecr, "team-b", "1")
    in_a = push(ecr, "team-a", "same", pushed_at=ago(30))
    in_b = push(ecr, "team-b", "same", pushed_at=ago(30))
    assert in_a == in_b
    register("uses-a", f"{REGISTRY}/team-a@{in_a}")

    # When the sweep runs
    run = invoke()

    # Then the digest is kept in both repositories, and nothing is deleted
    assert digests(ecr, "team-a") == {in_a} and digests(ecr, "team-b") == {in_b}
    assert run.metric("ImagesDeleted") == 0


def test_a_running_task_protects_its_reported_digest_whatever_its_image_string(ecr: Any, invoke: Invoke) -> None:
    from moto.ecs.models import ecs_backends

    # Given an expired untagged digest, and a running task whose task definition names an image by a tag of another
    # registry
    create_repository(ecr, "svc", "1")
    running = push(ecr, "svc", "running", pushed_at=ago(30))
    ecs = client("ecs")
    ecs.create_cluster(clusterName="main")
    definition = register("odd", "registry.internal:5000/mirror/svc:prod")
    task = ecs.run_task(
        cluster="main",
        taskDefinition=definition,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
    )["tasks"][0]["taskArn"]
    # And the task's container reports the expired digest as the one it started from
    # ECS reports the digest the container was started from (API_Container, imageDigest).
    [stored] = [t for t in ecs_backends[ACCOUNT]["us-east-1"].tasks["main"].values() if t.task_arn == task]
    stored.containers[0].image_digest = running

    # When the sweep runs
    run = invoke(env=DEBUG)

    # Then the digest is kept as in use by the task
    assert digests(ecr, "svc") == {running}
    assert verdicts(run)[running] == ("kept", f"in use by ecs {task}")


# --- 3. ECS services ----------------------------------------------------------------------------


def test_a_service_scaled_to_zero_on_an_inactive_task_definition_keeps_what_its_deployment_resolved(
    ecr: Any, invoke: Invoke
) -> None:
    # Given a service deployed from a tag, scaled to zero, its task definition deregistered
    create_repository(ecr, "web", "1")
    deployed = push(ecr, "web", "v1", tag="prod", pushed_at=ago(30))
    ecs = client("ecs")
    ecs.create_cluster(clusterName="main")
    definition = register("web", f"{REGISTRY}/web:prod")
    service = ecs.create_service(cluster="main", serviceName="web", taskDefinition=definition, desiredCount=0)[
        "service"
    ]["serviceArn"]
    ecs.deregister_task_definition(taskDefinition=definition)
    # When the tag moves on: the old digest is untagged, and the scale-out would pull it
    push(ecr, "web", "v2", tag="prod", pushed_at=ago(0.1))

    # Then a sweep keeps the digest the service's deployment resolved, as in use by the service, and deletes nothing
    run = invoke(env=DEBUG)

    assert deployed in digests(ecr, "web")
    assert verdicts(run)[deployed] == ("kept", f"in use by ecs {service}")
    assert run.metric("ProtectedByEcs") == 1
    assert run.metric("ImagesDeleted") == 0


def test_both_deployments_of_a_rollout_are_protected_until_it_finishes(ecr: Any, invoke: Invoke) -> None:
    # Given two expired untagged digests, and a service rolling out from a task definition on the first to one on the
    # second, the first deregistered
    create_repository(ecr, "web", "1")
    old = push(ecr, "web", "old", pushed_at=ago(30))
    new = push(ecr, "web", "new", pushed_at=ago(30))
    ecs = client("ecs")
    ecs.create_cluster(clusterName="main")
    first = register("web", f"{REGISTRY}/web@{old}")
    service = ecs.create_service(cluster="main", serviceName="web", taskDefinition=first, desiredCount=2)["service"][
        "serviceArn"
    ]
    second = register("web", f"{REGISTRY}/web@{new}")
    ecs.update_service(cluster="main", service="web", taskDefinition=second)
    ecs.deregister_task_definition(taskDefinition=first)

    # When a dry run runs during the rollout
    during = invoke(event={"dryRun": True}, env=DEBUG)

    # Then both digests are kept as in use by the service
    assert verdicts(during)[old] == ("kept", f"in use by ecs {service}")
    assert verdicts(during)[new] == ("kept", f"in use by ecs {service}")

    # When the rollout finishes and a real run follows
    finish_rollout("main", "web")
    after = invoke()

    # Then the old digest is deleted, and only the new one is left
    assert digests(ecr, "web") == {new}
    assert [r["digest"] for r in after.records(action="deleted")] == [old]


# --- Batch, App Runner, SageMaker ---------------------------------------------------------------


def test_an_active_batch_job_definition_protects_its_digest_and_an_inactive_one_does_not(
    ecr: Any, invoke: Invoke
) -> None:
    # Given two expired untagged digests, one named by an active job definition and one by a deregistered one
    create_repository(ecr, "jobs", "1")
    active = push(ecr, "jobs", "active", pushed_at=ago(30))
    retired = push(ecr, "jobs", "retired", pushed_at=ago(30))
    batch = client("batch")
    properties = {"vcpus": 1, "memory": 128}
    kept = batch.register_job_definition(
        jobDefinitionName="nightly",
        type="container",
        containerProperties={"image": f"{REGISTRY}/jobs@{active}", **properties},
    )["jobDefinitionArn"]
    gone = batch.register_job_definition(
        jobDefinitionName="old",
        type="container",
        containerProperties={"image": f"{REGISTRY}/jobs@{retired}", **properties},
    )["jobDefinitionArn"]
    batch.deregister_job_definition(jobDefinition=gone)

    # When the sweep runs
    run = invoke(env=DEBUG)

    # Then the active definition's digest is kept as in use by it, and the other is deleted
    assert digests(ecr, "jobs") == {active}
    assert verdicts(run)[active] == ("kept", f"in use by batch {kept}")
    assert run.metric("ProtectedByBatch") == 1


def test_an_app_runner_service_on_an_ecr_digest_protects_it(ecr: Any, invoke: Invoke) -> None:
    # Given an expired digest that an App Runner service runs, and one that nothing runs
    create_repository(ecr, "site", "1")
    served = push(ecr, "site", "served", pushed_at=ago(30))
    push(ecr, "site", "unused", pushed_at=ago(30))
    service = client("apprunner").create_service(
        ServiceName="site",
        SourceConfiguration={
            "ImageRepository": {"ImageIdentifier": f"{REGISTRY}/site@{served}", "ImageRepositoryType": "ECR"}
        },
    )["Service"]["ServiceArn"]

    # When the sweep runs
    run = invoke(env=DEBUG)

    # Then the service's digest is kept as in use by it, and the other is deleted
    assert digests(ecr, "site") == {served}
    assert verdicts(run)[served] == ("kept", f"in use by apprunner {service}")
    assert run.metric("ProtectedByAppRunner") == 1


def test_sagemaker_models_protect_primary_and_pipeline_containers(ecr: Any, invoke: Invoke) -> None:
    # Given a model whose primary container names one expired digest, a pipeline model whose second container names
    # another, and a third digest nothing names
    create_repository(ecr, "ml", "1")
    primary = push(ecr, "ml", "primary", pushed_at=ago(30))
    stage = push(ecr, "ml", "stage", pushed_at=ago(30))
    push(ecr, "ml", "unused", pushed_at=ago(30))
    sagemaker = client("sagemaker")
    single = sagemaker.create_model(
        ModelName="single", PrimaryContainer={"Image": f"{REGISTRY}/ml@{primary}"}, ExecutionRoleArn=ROLE
    )["ModelArn"]
    pipeline = sagemaker.create_model(
        ModelName="pipeline",
        Containers=[{"Image": f"{REGISTRY}/ml:latest"}, {"Image": f"{DUAL_STACK}/ml:v2@{stage}"}],
        ExecutionRoleArn=ROLE,
    )["ModelArn"]

    # When the sweep runs
    run = invoke(env=DEBUG)

    # Then both named digests are kept as in use by their models, and the third is deleted
    assert digests(ecr, "ml") == {primary, stage}
    assert verdicts(run)[primary] == ("kept", f"in use by sagemaker {single}")
    assert verdicts(run)[stage] == ("kept", f"in use by sagemaker {pipeline}")
    assert run.metric("ProtectedBySageMaker") == 2


# --- fail closed, per source ---------------------------------------------------------------------


def _denied(service: str, action: str) -> Callable[[Any], Any]:
    def deny(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise JsonRESTError("AccessDeniedException", f"not authorized to perform: {service}:{action}")

    return deny


def _response_class(service: str) -> type:
    if service == "lambda":
        from moto.awslambda.responses import LambdaResponse

        return LambdaResponse
    if service == "ecs":
        from moto.ecs.responses import EC2ContainerServiceResponse

        return EC2ContainerServiceResponse
    if service == "batch":
        from moto.batch.responses import BatchResponse

        return BatchResponse
    if service == "sagemaker":
        from moto.sagemaker.responses import SageMakerResponse

        return SageMakerResponse
    from emulator.apprunner import AppRunnerResponse

    return AppRunnerResponse


@pytest.mark.parametrize(
    ("service", "method", "action"),
    [
        ("lambda", "list_functions", "ListFunctions"),
        ("ecs", "list_services", "ListServices"),
        ("ecs", "describe_service_revisions", "DescribeServiceRevisions"),
        ("batch", "describejobdefinitions", "DescribeJobDefinitions"),
        ("apprunner", "list_services", "ListServices"),
        ("sagemaker", "list_models", "ListModels"),
    ],
)
def test_a_source_that_cannot_be_read_deletes_nothing_and_names_source_cause_and_fix(
    ecr: Any, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, service: str, method: str, action: str
) -> None:
    # Given a repository where everything would expire, with one digest
    create_repository(ecr, "app", "0")
    keep = push(ecr, "app", "x", pushed_at=ago(30))
    # And the in-use source of the case denies its read
    if service == "ecs":
        ecs = client("ecs")
        ecs.create_cluster(clusterName="main")
        ecs.create_service(cluster="main", serviceName="s", taskDefinition=register("s", "nginx"), desiredCount=0)
    monkeypatch.setattr(_response_class(service), method, _denied(service, action))

    # When the sweep runs
    run = invoke()

    # Then nothing is deleted, and the run fails
    assert digests(ecr, "app") == {keep}
    assert run.error is not None
    # And the failure names the source, the cause and the permission to add, in a record, the error and a metric
    [record] = run.records(record_type="in_use_scan_failed")
    assert record["source"] == f"{service} {action}"
    assert record["cause"].startswith("AccessDeniedException")
    assert f"allow {service}:{action}" in record["fix"]
    assert f"in-use source {service} {action} could not be read" in str(run.error)
    assert run.metric("InUseScanFailures") == 1


# --- the scan's cost: pages plus one describe per object -----------------------------------------


def test_the_scan_costs_its_pages_plus_one_describe_per_object(ecr: Any, invoke: Invoke, calls: Counter[str]) -> None:
    # Given workloads of every family
    create_repository(ecr, "app", "1")
    image = f"{REGISTRY}/app@{push(ecr, 'app', 'x', tag='v1')}"
    client("iam").create_role(RoleName="workload", AssumeRolePolicyDocument="{}")
    lam = client("lambda")
    for name, publish in (("fn-a", True), ("fn-b", False)):
        lam.create_function(
            FunctionName=name, Role=ROLE, PackageType="Image", Code={"ImageUri": image}, Publish=publish
        )
    lam.create_function(FunctionName="zip", Role=ROLE, Runtime="python3.12", Handler="h.h", Code={"ZipFile": b"0"})
    ecs = client("ecs")
    ecs.create_cluster(clusterName="main")
    web_1, web_2, job, old = (register(family, image) for family in ("web", "web", "job", "old"))
    ecs.create_service(cluster="main", serviceName="web", taskDefinition=web_1, desiredCount=1)
    ecs.update_service(cluster="main", service="web", taskDefinition=web_2)
    ecs.create_service(cluster="main", serviceName="legacy", taskDefinition=old, desiredCount=0)
    ecs.deregister_task_definition(taskDefinition=old)
    ecs.run_task(
        cluster="main",
        taskDefinition=job,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
    )
    client("batch").register_job_definition(
        jobDefinitionName="j", type="container", containerProperties={"image": image, "vcpus": 1, "memory": 128}
    )
    client("apprunner").create_service(
        ServiceName="site",
        SourceConfiguration={"ImageRepository": {"ImageIdentifier": image, "ImageRepositoryType": "ECR"}},
    )
    for name in ("m1", "m2"):
        client("sagemaker").create_model(ModelName=name, PrimaryContainer={"Image": image}, ExecutionRoleArn=ROLE)
    calls.clear()

    # When the sweep runs
    run = invoke()

    # Then the in-use scan makes one call per page and one describe per object, no more
    assert run.error is None
    in_use = {call: n for call, n in calls.items() if not call.startswith("ecr:")}
    assert in_use == {
        # Lambda: one page, one GetFunction per image version ($LATEST of both, and fn-a's version 1).
        "lambda:ListFunctions": 1,
        "lambda:GetFunction": 3,
        # ECS: one page per list (ListTasks once per desired status), one describe per batch, and one
        # DescribeTaskDefinition per distinct revision (web:1 draining, web:2, the INACTIVE old:1, job:1).
        "ecs:ListClusters": 1,
        "ecs:ListServices": 1,
        "ecs:DescribeServices": 1,
        "ecs:DescribeServiceRevisions": 1,
        "ecs:ListTasks": 2,
        "ecs:DescribeTasks": 1,
        "ecs:ListTaskDefinitions": 1,
        "ecs:DescribeTaskDefinition": 4,
        "batch:DescribeJobDefinitions": 1,
        "apprunner:ListServices": 1,
        "apprunner:DescribeService": 1,
        "sagemaker:ListModels": 1,
        "sagemaker:DescribeModel": 2,
        # No cluster; Inspector's coverage in one page.
        "eks:ListClusters": 1,
        "inspector2:ListCoverage": 1,
    }
    # And the metric and the summary count exactly these calls
    assert run.metric("InUseScanCalls") == sum(in_use.values()) == run.result["inUseScanCalls"]  # type: ignore[index]


# --- Amazon Inspector as a second net -------------------------------------------------------------


def test_inspector_keeps_what_it_saw_in_use_within_the_retention_window_and_not_before(
    ecr: Any, invoke: Invoke
) -> None:
    from emulator.inspector import cover

    # Given images Inspector saw in use: now, three days ago, and forty days ago (retention 7d)
    create_repository(ecr, "seen", "7")
    running = push(ecr, "seen", "running", pushed_at=ago(60))
    recent = push(ecr, "seen", "recent", pushed_at=ago(60))
    stale = push(ecr, "seen", "stale", pushed_at=ago(60))
    cover("seen", running, in_use_count=2, last_in_use_at=NOW)
    cover("seen", recent, in_use_count=0, last_in_use_at=ago(3))
    cover("seen", stale, in_use_count=0, last_in_use_at=ago(40))

    # When the sweep runs with a retention of 7 days
    run = invoke(env=DEBUG)

    # Then the image running now and the one in use 3 days ago are kept, and the one in use 40 days ago is deleted
    assert digests(ecr, "seen") == {running, recent}
    assert verdicts(run)[running] == ("kept", "in use per amazon inspector: 2 running task(s) or pod(s)")
    assert verdicts(run)[recent] == ("kept", "in use per amazon inspector: last in use 3d ago, retention 7d")
    assert verdicts(run)[stale][0] == "deleted"
    assert run.metric("ProtectedByInspector") == 2


@pytest.mark.parametrize("mode", ["auto", "required"])
def test_inspector_not_enabled_is_skipped_under_auto_and_fails_closed_under_required(
    ecr: Any, invoke: Invoke, mode: str
) -> None:
    from emulator.inspector import disable

    # Given an expired untagged digest, and Inspector not enabled in the account
    create_repository(ecr, "app", "1")
    old = push(ecr, "app", "old", pushed_at=ago(30))
    disable()

    # When the sweep runs with Inspector in use set to auto or required
    run = invoke(env={"INSPECTOR_IN_USE": mode})

    # Then under auto the sweep goes on without Inspector, deletes the digest, and says why Inspector was skipped
    if mode == "auto":
        assert run.error is None and digests(ecr, "app") == set()
        [notice] = run.records(record_type="inspector_unavailable")
        assert notice["cause"].startswith("AccessDeniedException")
    else:
        # And under required the digest is kept and the run fails closed, naming Inspector and the permission to add
        assert digests(ecr, "app") == {old}
        [failed] = run.records(record_type="in_use_scan_failed")
        assert failed["source"] == "inspector2 ListCoverage"
        assert "allow inspector2:ListCoverage" in failed["fix"]


def test_a_role_that_may_not_read_inspector_goes_on_under_auto(
    ecr: Any, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.inspector2.responses import Inspector2Response

    # Given an expired untagged digest, and a role that may not read Inspector's coverage
    create_repository(ecr, "app", "1")
    push(ecr, "app", "old", pushed_at=ago(30))
    monkeypatch.setattr(Inspector2Response, "list_coverage", _denied("inspector2", "ListCoverage"))

    # When the sweep runs with Inspector in use set to auto, the default
    run = invoke()

    # Then it goes on without Inspector, deletes the digest, and says once that Inspector was skipped
    assert run.error is None and digests(ecr, "app") == set()
    assert len(run.records(record_type="inspector_unavailable")) == 1
