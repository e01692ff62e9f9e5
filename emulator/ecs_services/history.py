"""Service revisions and service deployments, as ECS records them and moto does not: every deployment of a
service records the digest each container image resolved to when it started (software version consistency),
a deployment that replaces the task definition is a new PRIMARY one while the previous stays ACTIVE until the
rollout ends (`finish_rollout`), and scaling alone is no deployment."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from moto.ecs.models import EC2ContainerServiceBackend, Service, TaskDefinition, ecs_backends
from moto.moto_api._internal import mock_random
from moto.utilities.utils import get_partition

from emulator.compute import resolve
from emulator.ecs_services.task_definitions import forget_deleted_task_definitions

DEFAULT_ACCOUNT = "123456789012"

# What a new deployments[] entry takes over from the PRIMARY one it replaces.
_INHERITED = ("launchType", "platformVersion", "platformFamily")

_DIGEST = re.compile(r"@(sha256:[0-9a-f]{64})$")


@dataclass
class _History:
    """A region's service revisions and service deployments, by ARN."""

    revisions: dict[str, dict[str, Any]] = field(default_factory=dict)
    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)


def history_of(backend: EC2ContainerServiceBackend) -> _History:
    # Kept in the backend's __dict__ so that moto's reset (which empties it) forgets it too.
    history = backend.__dict__.get("service_history")
    if history is None:
        history = backend.service_history = _History()
    return history  # type: ignore[no-any-return]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def arn_prefix(backend: EC2ContainerServiceBackend, kind: str, service: Service) -> str:
    region, partition = backend.region_name, get_partition(backend.region_name)
    return f"arn:{partition}:ecs:{region}:{backend.account_id}:{kind}/{service.cluster_name}/{service.name}/"


def is_ecs_controlled(service: Service) -> bool:
    # Revisions and service deployments belong to services ECS deploys itself; an EXTERNAL or
    # CODE_DEPLOY controller deploys through task sets, which moto models apart.
    return bool(service.task_definition) and service.deployment_controller.get("type", "ECS") == "ECS"


def _summary(arn: str, requested: int, running: int, pending: int) -> dict[str, Any]:
    """ServiceRevisionSummary / ServiceCurrentRevisionSummary (ECS API reference)."""
    return {"arn": arn, "requestedTaskCount": requested, "runningTaskCount": running, "pendingTaskCount": pending}


def _container_image(definition: dict[str, Any]) -> dict[str, Any]:
    """ContainerImage (ECS API reference): the digest the image reference names at this moment.

    ECS resolves each tag once per deployment and runs that digest for the whole deployment
    ("Container image resolution", developer guide deployment-type-ecs.html#deployment-container-image-stability),
    unless the container sets versionConsistency "disabled" (ContainerDefinition.versionConsistency).
    """
    image = definition.get("image")
    entry: dict[str, Any] = {"containerName": definition.get("name"), "image": image}
    if definition.get("versionConsistency") == "disabled":
        return entry
    # Images outside the emulated ECR resolve only when they are already pinned by digest.
    by_digest = _DIGEST.search(image or "")
    digest = resolve(image) or (by_digest.group(1) if by_digest else None)
    if digest:
        entry["imageDigest"] = digest
    return entry


def _record_revision(
    backend: EC2ContainerServiceBackend, service: Service, definition: TaskDefinition, now: datetime
) -> dict[str, Any]:
    """A new immutable service revision (ECS API reference, ServiceRevision; developer guide,
    "Amazon ECS service revisions": created when a service is created or a deployment starts).
    Revision ids are numeric, as in the AWS CLI's describe-service-revisions example."""
    arn = arn_prefix(backend, "service-revision", service) + str(mock_random.randint(10**18, 2**63 - 1))
    revision: dict[str, Any] = {
        "serviceRevisionArn": arn,
        "serviceArn": service.arn,
        "clusterArn": service.cluster_arn,
        "taskDefinition": definition.arn,
        "launchType": service.launch_type,
        "containerImages": [_container_image(each) for each in definition.container_definitions],
        "createdAt": now,
    }
    optional = (
        ("platformVersion", service.platform_version),
        ("capacityProviderStrategy", getattr(service, "capacity_provider_strategy", None)),
        ("loadBalancers", service.load_balancers),
        ("serviceRegistries", service.service_registries),
        ("networkConfiguration", service.network_configuration),
    )
    for key, value in optional:
        if value:
            revision[key] = copy.deepcopy(value)
    history_of(backend).revisions[arn] = revision
    return revision


def current_deployment(backend: EC2ContainerServiceBackend, service: Service) -> dict[str, Any] | None:
    arn = getattr(service, "current_service_deployment", None)
    return history_of(backend).deployments.get(arn) if arn else None


def start_deployment(backend: EC2ContainerServiceBackend, service: Service, *, initial: bool) -> None:
    """Record what ECS records when a deployment starts: a revision, a service deployment from the
    revisions running now (source) to the new one (target), and a PRIMARY deployment.

    Developer guide, "View service history using Amazon ECS service deployments" (a service deployment
    is created when a service is created, force-deployed, or updated in a property that needs a
    deployment) and ECS API reference, Deployment.status (PRIMARY: the most recent deployment;
    ACTIVE: still has running tasks while a new PRIMARY replaces it).
    """
    now = _now()
    definition = backend.describe_task_definition(service.task_definition)
    revision = _record_revision(backend, service, definition, now)
    desired = service.desired_count
    if initial:
        # moto's own counts at creation (MOTO_ECS_SERVICE_RUNNING).
        target = _summary(revision["serviceRevisionArn"], desired, service.running_count, service.pending_count)
        sources: list[dict[str, Any]] = []
    else:
        target = _summary(revision["serviceRevisionArn"], desired, 0, desired)
        sources = copy.deepcopy(getattr(service, "current_service_revisions", None) or [])
        superseded = current_deployment(backend, service)
        if superseded is not None and superseded["status"] == "IN_PROGRESS":
            # Assumed: a deployment overtaken by a newer one ends unsuccessfully (STOPPED is one of the
            # "Completed" states of the service deployment page); ECS documents no reason text for it.
            superseded.update(status="STOPPED", stoppedAt=now, updatedAt=now)
            superseded["statusReason"] = "A newer service deployment replaced this one."

        deployment_id = f"ecs-svc/{mock_random.randint(0, 32**12)}"
        template = next((d for d in service.deployments if d["status"] == "PRIMARY"), {})
        for deployment in service.deployments:
            if deployment["status"] == "PRIMARY":
                deployment.update(status="ACTIVE", updatedAt=now)
        service.deployments.insert(
            0,
            {
                **{key: template[key] for key in _INHERITED if key in template},
                "id": deployment_id,
                "status": "PRIMARY",
                "taskDefinition": definition.arn,
                "desiredCount": desired,
                "pendingCount": desired,
                "runningCount": 0,
                "failedTasks": 0,
                "createdAt": now,
                "updatedAt": now,
                "networkConfiguration": service.network_configuration or None,
                "rolloutState": "IN_PROGRESS",
                "rolloutStateReason": f"ECS deployment {deployment_id} in progress.",
            },
        )

    arn = arn_prefix(backend, "service-deployment", service) + mock_random.get_random_string(21)
    history_of(backend).deployments[arn] = {
        "serviceDeploymentArn": arn,
        "serviceArn": service.arn,
        "clusterArn": service.cluster_arn,
        "createdAt": now,
        "startedAt": now,
        "updatedAt": now,
        "sourceServiceRevisions": sources,
        "targetServiceRevision": dict(target),
        "status": "IN_PROGRESS",
    }
    service.current_service_deployment = arn
    service.current_service_revisions = [*sources, dict(target)]
    primary = next((d for d in service.deployments if d["status"] == "PRIMARY"), None)
    # Nothing to start: the rollout is over at once (moto already says COMPLETED for such a creation).
    if desired == 0 or (primary is not None and primary.get("rolloutState") == "COMPLETED"):
        complete_rollout(backend, service)


def complete_rollout(backend: EC2ContainerServiceBackend, service: Service) -> None:
    """End the rollout: only the PRIMARY deployment remains (the others are INACTIVE, which
    DescribeServices does not list), and the service runs only the target revision."""
    now = _now()
    desired = service.desired_count
    service.deployments = [d for d in service.deployments if d["status"] == "PRIMARY"]
    for deployment in service.deployments:
        if deployment.get("rolloutState") != "COMPLETED":
            deployment.update(
                rolloutState="COMPLETED",
                rolloutStateReason=f"ECS deployment {deployment['id']} completed.",
                updatedAt=now,
            )
        deployment.update(desiredCount=desired, runningCount=desired, pendingCount=0)
    cluster = backend._get_cluster(service.cluster_name)
    backend.update_cluster_resources(cluster, desired - service.running_count, task_state="RUNNING")
    backend.update_cluster_resources(cluster, -service.pending_count, task_state="PENDING")
    service.running_count, service.pending_count = desired, 0

    record = current_deployment(backend, service)
    if record is None:
        return
    target = _summary(record["targetServiceRevision"]["arn"], desired, desired, 0)
    if record["status"] == "IN_PROGRESS":
        record.update(status="SUCCESSFUL", finishedAt=now, updatedAt=now, targetServiceRevision=dict(target))
    service.current_service_revisions = [target]
    forget_deleted_task_definitions(backend)


def rescale(backend: EC2ContainerServiceBackend, service: Service) -> None:
    """desiredCount alone starts no deployment; the PRIMARY deployment and its revision follow it."""
    for deployment in service.deployments:
        if deployment["status"] == "PRIMARY":
            deployment.update(desiredCount=service.desired_count, updatedAt=_now())
    record = current_deployment(backend, service)
    if record is None:
        return
    finished = record["status"] != "IN_PROGRESS"
    for summary in getattr(service, "current_service_revisions", None) or []:
        if summary["arn"] == record["targetServiceRevision"]["arn"]:
            summary["requestedTaskCount"] = service.desired_count
            if finished:
                summary.update(runningTaskCount=service.running_count, pendingTaskCount=service.pending_count)


def forget_service(backend: EC2ContainerServiceBackend, service: Service) -> None:
    """Developer guide, service revisions and service deployments: "Amazon ECS deletes the service
    revision [service deployment] when you delete a service"."""
    history = history_of(backend)
    for kind, records in (("service-revision", history.revisions), ("service-deployment", history.deployments)):
        prefix = arn_prefix(backend, kind, service)
        for arn in [arn for arn in records if arn.startswith(prefix)]:
            del records[arn]


def finish_rollout(cluster: str, service: str, region: str = "us-east-1", account: str = DEFAULT_ACCOUNT) -> None:
    """Complete the service's rollout as ECS does once the new tasks are steady: the ACTIVE
    deployments become INACTIVE (no longer listed), the service deployment is SUCCESSFUL, and
    currentServiceRevisions keeps only the target revision. `service` is a name or an ARN."""
    backend = ecs_backends[account][region]
    complete_rollout(backend, backend._get_service(cluster, service))
