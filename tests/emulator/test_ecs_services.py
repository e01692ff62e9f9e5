"""The ECS service corrections (emulator/ecs_services/): what a scan of the digests a service
still needs reads, against images pushed through the corrected ECR."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.exceptions import JsonRESTError
from moto.ecs.responses import EC2ContainerServiceResponse

from emulator import install
from emulator.ecs_services import finish_rollout
from emulator.seed import create_repository, push

install()

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
CLUSTER = "main"


@pytest.fixture
def aws() -> Iterator[tuple[Any, Any]]:
    """ECR and ECS clients on the in-process emulator, with a cluster and a repository `app`."""
    with mock_aws():
        ecr = boto3.client("ecr", region_name="us-east-1")
        ecs = boto3.client("ecs", region_name="us-east-1")
        create_repository(ecr, "app")
        ecs.create_cluster(clusterName=CLUSTER)
        yield ecr, ecs


def register(ecs: Any, image: str) -> str:
    """A new revision of the task definition family `web`, with one container `app`."""
    containers = [{"name": "app", "image": image, "memory": 128}]
    definition = ecs.register_task_definition(family="web", containerDefinitions=containers)["taskDefinition"]
    return str(definition["taskDefinitionArn"])


def describe(ecs: Any, service: str = "web") -> dict[str, Any]:
    [found] = ecs.describe_services(cluster=CLUSTER, services=[service])["services"]
    return dict(found)


def current_revisions(ecs: Any, service: str = "web") -> list[dict[str, Any]]:
    arns = [summary["arn"] for summary in describe(ecs, service)["currentServiceRevisions"]]
    response = ecs.describe_service_revisions(serviceRevisionArns=arns)
    assert response["failures"] == []
    return list(response["serviceRevisions"])


def test_a_revision_keeps_the_digest_the_tag_had_at_deploy_time(aws: tuple[Any, Any]) -> None:
    # Given a service deployed from a task definition that names the image by tag prod
    ecr, ecs = aws
    deployed = push(ecr, "app", "one", tag="prod")
    definition = register(ecs, f"{REGISTRY}/app:prod")
    ecs.create_service(cluster=CLUSTER, serviceName="web", taskDefinition=definition, desiredCount=1)

    # When tag prod moves to another image
    moved = push(ecr, "app", "two", tag="prod")

    # Then the service's revision still holds the digest prod named at deploy time, with its ARN and creation time
    [revision] = current_revisions(ecs)
    assert revision["containerImages"] == [
        {"containerName": "app", "image": f"{REGISTRY}/app:prod", "imageDigest": deployed}
    ]
    assert revision["taskDefinition"] == definition
    assert revision["serviceRevisionArn"].startswith("arn:aws:ecs:us-east-1:123456789012:service-revision/main/web/")
    assert revision["serviceRevisionArn"].rsplit("/", 1)[1].isdigit()
    assert isinstance(revision["createdAt"], datetime)
    # When a new deployment is forced, then a new revision holds the new digest and the old one is unchanged
    # A forced deployment resolves the tag again; the revision before it keeps its digest.
    ecs.update_service(cluster=CLUSTER, service="web", forceNewDeployment=True)
    old, new = current_revisions(ecs)
    assert old == revision
    assert new["containerImages"][0]["imageDigest"] == moved


def test_a_new_task_definition_rolls_out_from_primary_and_active_to_primary_alone(aws: tuple[Any, Any]) -> None:
    # Given a service on revision 1 of web, rolled out, and revision 2 registered with another image
    ecr, ecs = aws
    push(ecr, "app", "one", tag="v1")
    push(ecr, "app", "two", tag="v2")
    first = register(ecs, f"{REGISTRY}/app:v1")
    ecs.create_service(cluster=CLUSTER, serviceName="web", taskDefinition=first, desiredCount=2)
    finish_rollout(CLUSTER, "web")
    [source] = describe(ecs)["currentServiceRevisions"]
    second = register(ecs, f"{REGISTRY}/app:v2")

    # When the service is updated to the family web
    ecs.update_service(cluster=CLUSTER, service="web", taskDefinition="web")

    # Then revision 2 is PRIMARY and revision 1 still ACTIVE, and both service revisions are current
    service = describe(ecs)
    assert service["taskDefinition"] == second
    assert [(d["status"], d["taskDefinition"]) for d in service["deployments"]] == [
        ("PRIMARY", second),
        ("ACTIVE", first),
    ]
    assert [r["taskDefinition"] for r in current_revisions(ecs)] == [first, second]
    # And the deployment is in progress, from the old service revision
    [deployment] = ecs.describe_service_deployments(serviceDeploymentArns=[service["currentServiceDeployment"]])[
        "serviceDeployments"
    ]
    assert deployment["status"] == "IN_PROGRESS"
    assert [s["arn"] for s in deployment["sourceServiceRevisions"]] == [source["arn"]]
    target = deployment["targetServiceRevision"]["arn"]

    # When the rollout finishes
    finish_rollout(CLUSTER, "web")

    # Then only revision 2 is left, COMPLETED, with the target service revision and both tasks running
    service = describe(ecs)
    assert [(d["status"], d["taskDefinition"], d["rolloutState"]) for d in service["deployments"]] == [
        ("PRIMARY", second, "COMPLETED")
    ]
    assert [s["arn"] for s in service["currentServiceRevisions"]] == [target]
    assert service["runningCount"] == 2
    # And both deployments are listed as SUCCESSFUL, the newest first
    listed = ecs.list_service_deployments(cluster=CLUSTER, service="web")["serviceDeployments"]
    assert [(d["targetServiceRevisionArn"], d["status"]) for d in listed] == [
        (target, "SUCCESSFUL"),
        (source["arn"], "SUCCESSFUL"),
    ]


def test_a_service_scaled_to_zero_still_reports_its_revision(aws: tuple[Any, Any]) -> None:
    # Given a service created with no tasks, and a service with two tasks, both from an image by tag
    ecr, ecs = aws
    digest = push(ecr, "app", "one", tag="prod")
    definition = register(ecs, f"{REGISTRY}/app:prod")
    ecs.create_service(cluster=CLUSTER, serviceName="idle", taskDefinition=definition, desiredCount=0)
    ecs.create_service(cluster=CLUSTER, serviceName="web", taskDefinition=definition, desiredCount=2)
    before = describe(ecs)["currentServiceRevisions"]

    # When the second is scaled to zero
    ecs.update_service(cluster=CLUSTER, service="web", desiredCount=0)

    # Then the first still reports one current revision, asking for no task, with the digest
    [idle] = describe(ecs, "idle")["currentServiceRevisions"]
    assert idle["requestedTaskCount"] == 0
    assert [d["status"] for d in describe(ecs, "idle")["deployments"]] == ["PRIMARY"]
    assert current_revisions(ecs, "idle")[0]["containerImages"][0]["imageDigest"] == digest
    # And the second keeps the revision it had, now asking for no task, with the digest
    [web] = describe(ecs)["currentServiceRevisions"]
    assert web["arn"] == before[0]["arn"]
    assert web["requestedTaskCount"] == 0
    assert current_revisions(ecs)[0]["containerImages"][0]["imageDigest"] == digest


def test_a_deregistered_task_definition_still_serves_its_service(aws: tuple[Any, Any]) -> None:
    # Given a service on the newest of two revisions of web
    ecr, ecs = aws
    push(ecr, "app", "one", tag="prod")
    older = register(ecs, f"{REGISTRY}/app:prod")
    newest = register(ecs, f"{REGISTRY}/app:prod")
    ecs.create_service(cluster=CLUSTER, serviceName="web", taskDefinition=newest, desiredCount=1)

    # When that revision is deregistered
    ecs.deregister_task_definition(taskDefinition=newest)

    # Then the service still uses it, and it is described as INACTIVE with its image
    assert describe(ecs)["taskDefinition"] == newest
    described = ecs.describe_task_definition(taskDefinition=newest)["taskDefinition"]
    assert (described["status"], described["containerDefinitions"][0]["image"]) == ("INACTIVE", f"{REGISTRY}/app:prod")
    # And it is still the service's revision, and the service can still be scaled
    assert current_revisions(ecs)[0]["taskDefinition"] == newest
    ecs.update_service(cluster=CLUSTER, service="web", desiredCount=3)
    assert describe(ecs)["desiredCount"] == 3
    # A family alone names its latest ACTIVE revision, and an INACTIVE one starts nothing new.
    assert ecs.describe_task_definition(taskDefinition="web")["taskDefinition"]["taskDefinitionArn"] == older
    with pytest.raises(ClientError, match="ClientException"):
        ecs.create_service(cluster=CLUSTER, serviceName="other", taskDefinition=newest, desiredCount=1)


def test_a_deleted_task_definition_stays_while_its_service_uses_it(aws: tuple[Any, Any]) -> None:
    # Given a service on a task definition that was then deregistered
    ecr, ecs = aws
    push(ecr, "app", "one", tag="prod")
    definition = register(ecs, f"{REGISTRY}/app:prod")
    ecs.create_service(cluster=CLUSTER, serviceName="web", taskDefinition=definition, desiredCount=1)
    ecs.deregister_task_definition(taskDefinition=definition)

    # When the task definition is deleted
    ecs.delete_task_definitions(taskDefinitions=[definition])

    # Then it is DELETE_IN_PROGRESS while the service uses it
    assert ecs.describe_task_definition(taskDefinition=definition)["taskDefinition"]["status"] == "DELETE_IN_PROGRESS"
    # And once the service is scaled to zero and deleted, the task definition is gone
    ecs.update_service(cluster=CLUSTER, service="web", desiredCount=0)
    ecs.delete_service(cluster=CLUSTER, service="web")
    with pytest.raises(ClientError, match="ClientException"):
        ecs.describe_task_definition(taskDefinition=definition)


def test_a_deleted_service_is_not_listed_and_its_revisions_are_gone(aws: tuple[Any, Any]) -> None:
    # Given a service with its current revision
    ecr, ecs = aws
    push(ecr, "app", "one", tag="prod")
    definition = register(ecs, f"{REGISTRY}/app:prod")
    ecs.create_service(cluster=CLUSTER, serviceName="web", taskDefinition=definition, desiredCount=0)
    [revision] = describe(ecs)["currentServiceRevisions"]

    # When the service is deleted
    ecs.delete_service(cluster=CLUSTER, service="web")

    # Then it is no longer listed, and its revision is a MISSING failure
    assert ecs.list_services(cluster=CLUSTER)["serviceArns"] == []
    failures = ecs.describe_service_revisions(serviceRevisionArns=[revision["arn"]])["failures"]
    assert failures == [{"arn": revision["arn"], "reason": "MISSING"}]
    # And it can no longer be updated
    with pytest.raises(ClientError, match="ServiceNotActiveException"):
        ecs.update_service(cluster=CLUSTER, service="web", forceNewDeployment=True)


def test_list_services_pages_and_describe_services_takes_at_most_10(aws: tuple[Any, Any]) -> None:
    # Given 11 services in one cluster
    ecr, ecs = aws
    push(ecr, "app", "one", tag="prod")
    definition = register(ecs, f"{REGISTRY}/app:prod")
    for n in range(11):
        ecs.create_service(cluster=CLUSTER, serviceName=f"s{n:02}", taskDefinition=definition, desiredCount=0)

    # When the services are listed without maxResults, and then the rest
    first = ecs.list_services(cluster=CLUSTER)
    rest = ecs.list_services(cluster=CLUSTER, nextToken=first["nextToken"])

    # Then the pages hold 10 and 1
    assert (len(first["serviceArns"]), len(rest["serviceArns"]), "nextToken" in rest) == (10, 1, False)
    # And all 11 cannot be described in one call, while 10 can
    with pytest.raises(ClientError, match="InvalidParameterException"):
        ecs.describe_services(cluster=CLUSTER, services=first["serviceArns"] + rest["serviceArns"])
    assert len(ecs.describe_services(cluster=CLUSTER, services=first["serviceArns"])["services"]) == 10


def test_describe_service_revisions_takes_at_most_20_arns(aws: tuple[Any, Any]) -> None:
    # Given 21 service revision ARNs
    _, ecs = aws
    arns = [f"arn:aws:ecs:us-east-1:123456789012:service-revision/main/web/{n}" for n in range(21)]

    # When all 21 are described in one call
    with pytest.raises(ClientError) as refused:
        ecs.describe_service_revisions(serviceRevisionArns=arns)

    # Then the call is refused as an invalid parameter
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    # And 20 are accepted, each a failure
    assert len(ecs.describe_service_revisions(serviceRevisionArns=arns[:20])["failures"]) == 20


def test_an_unknown_arn_is_a_missing_failure(aws: tuple[Any, Any]) -> None:
    # Given a service with one known revision, and a revision ARN that does not exist
    ecr, ecs = aws
    push(ecr, "app", "one", tag="prod")
    ecs.create_service(
        cluster=CLUSTER, serviceName="web", taskDefinition=register(ecs, f"{REGISTRY}/app:prod"), desiredCount=0
    )
    service = describe(ecs)
    known = service["currentServiceRevisions"][0]["arn"]
    unknown = "arn:aws:ecs:us-east-1:123456789012:service-revision/main/web/1"

    # When both are described
    response = ecs.describe_service_revisions(serviceRevisionArns=[unknown, known])

    # Then the unknown one is a MISSING failure, and the known one is described
    assert response["failures"] == [{"arn": unknown, "reason": "MISSING"}]
    assert [r["serviceRevisionArn"] for r in response["serviceRevisions"]] == [known]
    # And an unknown deployment ARN is a MISSING failure too
    deployment = unknown.replace("service-revision", "service-deployment")
    response = ecs.describe_service_deployments(serviceDeploymentArns=[deployment])
    assert (response["serviceDeployments"], response["failures"]) == ([], [{"arn": deployment, "reason": "MISSING"}])


def test_list_service_deployments_pages_newest_first_and_filters_by_status(aws: tuple[Any, Any]) -> None:
    # Given a service deployed three times: created, then forced twice
    ecr, ecs = aws
    push(ecr, "app", "one", tag="prod")
    ecs.create_service(
        cluster=CLUSTER, serviceName="web", taskDefinition=register(ecs, f"{REGISTRY}/app:prod"), desiredCount=0
    )
    for _ in range(2):
        ecs.update_service(cluster=CLUSTER, service="web", forceNewDeployment=True)
    current = describe(ecs)["currentServiceDeployment"]

    # When its deployments are listed two at a time
    first = ecs.list_service_deployments(cluster=CLUSTER, service="web", maxResults=2)
    rest = ecs.list_service_deployments(cluster=CLUSTER, service="web", maxResults=2, nextToken=first["nextToken"])

    # Then the three are listed once each, the current one first, and the last page ends
    listed = [d["serviceDeploymentArn"] for d in first["serviceDeployments"] + rest["serviceDeployments"]]
    assert len(listed) == len(set(listed)) == 3
    assert listed[0] == current
    assert "nextToken" not in rest
    # And all three are listed as SUCCESSFUL
    # desiredCount 0: each deployment is over as soon as it starts.
    successful = ecs.list_service_deployments(cluster=CLUSTER, service="web", status=["SUCCESSFUL"])
    assert len(successful["serviceDeployments"]) == 3
    # And a maxResults of 101 is refused
    with pytest.raises(ClientError, match="InvalidParameterException"):
        ecs.list_service_deployments(cluster=CLUSTER, service="web", maxResults=101)


def test_a_test_can_make_describe_service_revisions_fail(aws: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a DescribeServiceRevisions handler replaced by one that denies access
    _, ecs = aws

    def denied(self: EC2ContainerServiceResponse) -> None:
        raise JsonRESTError("AccessDeniedException", "not authorized to perform: ecs:DescribeServiceRevisions")

    monkeypatch.setattr(EC2ContainerServiceResponse, "describe_service_revisions", denied)

    # When service revisions are described, then the call fails with AccessDeniedException
    with pytest.raises(ClientError) as refused:
        ecs.describe_service_revisions(
            serviceRevisionArns=["arn:aws:ecs:us-east-1:123456789012:service-revision/a/b/1"]
        )
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"


@pytest.fixture
def served(local_endpoint: str) -> tuple[Any, Any]:
    """ECR and ECS clients on the emulator served on 127.0.0.1."""
    return (
        boto3.client("ecr", region_name="us-east-1", endpoint_url=local_endpoint),
        boto3.client("ecs", region_name="us-east-1", endpoint_url=local_endpoint),
    )


def test_the_service_corrections_also_serve_a_local_server(served: tuple[Any, Any]) -> None:
    # Given the emulator served on 127.0.0.1, and a service deployed from tag prod before prod moved
    ecr, ecs = served
    create_repository(ecr, "app")
    deployed = push(ecr, "app", "one", tag="prod")
    ecs.create_cluster(clusterName=CLUSTER)
    definition = register(ecs, f"{REGISTRY}/app:prod")
    ecs.create_service(cluster=CLUSTER, serviceName="web", taskDefinition=definition, desiredCount=1)
    push(ecr, "app", "two", tag="prod")

    # When the service's current revision is read
    [revision] = current_revisions(ecs)

    # Then it holds the digest deployed, with its creation time, and the service has a current deployment
    assert revision["containerImages"][0]["imageDigest"] == deployed
    assert isinstance(revision["createdAt"], datetime)
    assert describe(ecs)["currentServiceDeployment"].startswith(
        "arn:aws:ecs:us-east-1:123456789012:service-deployment/main/web/"
    )
    # And an unknown revision is a MISSING failure, and 21 revisions in one call are refused
    unknown = revision["serviceRevisionArn"] + "0"
    assert ecs.describe_service_revisions(serviceRevisionArns=[unknown])["failures"] == [
        {"arn": unknown, "reason": "MISSING"}
    ]
    with pytest.raises(ClientError, match="InvalidParameterException"):
        ecs.describe_service_revisions(serviceRevisionArns=[unknown] * 21)
