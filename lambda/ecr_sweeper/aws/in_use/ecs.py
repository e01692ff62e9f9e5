"""ECS: services, scaled to zero or not (the task definitions of their PRIMARY and ACTIVE deployments
and task sets, and the digests ECS resolved for their current service revisions: what a scale-out
pulls, aws/amazon-ecs-agent#4226, containers-roadmap#2394); running and pending tasks; ACTIVE task
definitions. A task definition revision is described once, then answered from earlier runs' facts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ecr_sweeper.aws.in_use.calls import Source
from ecr_sweeper.aws.in_use.fanout import Once
from ecr_sweeper.aws.in_use.values import InUse
from ecr_sweeper.core.model import Protection, Use

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient

# ECS ListTasks filters by desired status: a pending task is on its way to RUNNING.
ECS_TASK_STATUSES = ("RUNNING", "PENDING")
# Batch sizes of the describe calls (ECS API reference: DescribeTasks 100, DescribeServices 10,
# DescribeServiceRevisions 20).
DESCRIBE_TASKS_SIZE = 100
DESCRIBE_SERVICES_SIZE = 10
DESCRIBE_SERVICE_REVISIONS_SIZE = 20
# A deployment's or task set's tasks run now (PRIMARY) or still drain or scale (ACTIVE).
LIVE_DEPLOYMENTS = ("PRIMARY", "ACTIVE")


def scan_ecs(source: Source[ECSClient]) -> None:
    """Every cluster's services, its tasks, and the ACTIVE task definitions, read at once; each in a
    part of its own, merged in that order (a cluster's services before its tasks, so that the most
    lasting need comes first in a reason)."""
    once: Once[str, tuple[str, ...]] = Once()

    def images_of(task_definition: str) -> tuple[str, ...]:
        # Services often run an ACTIVE revision that the definition scan reads too: one describe each,
        # and none for a revision an earlier run described (a revision never changes once registered).
        known = source.facts.images_of(task_definition)
        if known is not None:
            return known
        return once.get(task_definition, lambda: _describe_task_definition(source, task_definition))

    def part(of: tuple[str, str | None]) -> InUse:
        kind, cluster = of
        found = InUse()
        if cluster is None:
            scan_ecs_task_definitions(source, found, images_of)
        elif kind == "services":
            scan_ecs_services(source, found, cluster, images_of)
        else:
            scan_ecs_tasks(source, found, cluster)
        return found

    clusters = list(source.pages("list_clusters", "clusterArns"))
    # A cluster's services and its tasks are read at once: neither waits for the other's chain of
    # calls (list, describe, revisions).
    parts = [(kind, cluster) for cluster in clusters for kind in ("services", "tasks")]
    for found in source.each([*parts, ("task definitions", None)], part):
        source.in_use.merge(found)


def _describe_task_definition(source: Source[ECSClient], task_definition: str) -> tuple[str, ...]:
    response = source.call("describe_task_definition", taskDefinition=task_definition) or {}
    containers = response.get("taskDefinition", {}).get("containerDefinitions", [])
    images = tuple(c.get("image", "") for c in containers)
    source.facts.learn_images(task_definition, images)
    return images


def scan_ecs_task_definitions(
    source: Source[ECSClient], found: InUse, images_of: Callable[[str], tuple[str, ...]]
) -> None:
    arns = list(source.pages("list_task_definitions", "taskDefinitionArns", status="ACTIVE"))
    for arn, images in zip(arns, source.each(arns, images_of), strict=True):
        use = source.use(Protection.ECS, arn)
        for image in images:
            found.add_reference(image, use)


def scan_ecs_services(
    source: Source[ECSClient], found: InUse, cluster: str, images_of: Callable[[str], tuple[str, ...]]
) -> None:
    """A service scaled to zero has no task, and its task definition may be INACTIVE; its next
    scale-out pulls what its deployment resolved (ECS "software version consistency")."""
    listed = list(source.pages("list_services", "serviceArns", cluster=cluster))
    described = source.each(
        list(_chunks(listed, DESCRIBE_SERVICES_SIZE)),
        lambda batch: source.call("describe_services", cluster=cluster, services=batch) or {},
    )
    services = [service for response in described for service in response.get("services", [])]
    deployed = {
        service["serviceArn"]: list(
            dict.fromkeys(d["taskDefinition"] for d in _live(service) if d.get("taskDefinition"))
        )
        for service in services
    }
    images = dict(zip(*_fetched(source, [td for tds in deployed.values() for td in tds], images_of), strict=True))
    revisions: dict[str, Use] = {}
    for service in services:
        use = source.use(Protection.ECS, service["serviceArn"])
        for task_definition in deployed[service["serviceArn"]]:
            for image in images[task_definition]:
                found.add_reference(image, use)
        for revision in service.get("currentServiceRevisions", []):
            revisions[revision["arn"]] = use
    responses = source.each(
        list(_chunks(list(revisions), DESCRIBE_SERVICE_REVISIONS_SIZE)),
        lambda batch: source.call("describe_service_revisions", serviceRevisionArns=batch) or {},
    )
    for response in responses:
        for revision in response.get("serviceRevisions", []):
            use = revisions[revision["serviceRevisionArn"]]
            for image in revision.get("containerImages", []):
                found.add(image.get("imageDigest"), use)
                found.add_reference(image.get("image"), use)


def _live(service: dict[str, Any]) -> list[dict[str, Any]]:
    """A service's deployments and task sets whose tasks run now (PRIMARY) or still drain (ACTIVE)."""
    return [
        *(d for d in service.get("deployments", []) if d.get("status") in LIVE_DEPLOYMENTS),
        *(t for t in service.get("taskSets", []) if t.get("status") in LIVE_DEPLOYMENTS),
    ]


def _fetched(
    source: Source[ECSClient], task_definitions: list[str], images_of: Callable[[str], tuple[str, ...]]
) -> tuple[list[str], list[tuple[str, ...]]]:
    """Each distinct task definition with the images it names, described at once."""
    distinct = list(dict.fromkeys(task_definitions))
    return distinct, source.each(distinct, images_of)


def scan_ecs_tasks(source: Source[ECSClient], found: InUse, cluster: str) -> None:
    listed = source.each(
        list(ECS_TASK_STATUSES),
        lambda status: list(source.pages("list_tasks", "taskArns", cluster=cluster, desiredStatus=status)),
    )
    arns = [arn for arns in listed for arn in arns]
    responses = source.each(
        list(_chunks(arns, DESCRIBE_TASKS_SIZE)),
        lambda batch: source.call("describe_tasks", cluster=cluster, tasks=batch) or {},
    )
    for response in responses:
        for task in response.get("tasks", []):
            use = source.use(Protection.ECS, task["taskArn"])
            for container in task.get("containers", []):
                # The digest ECS reports as running is protected whatever the image string says.
                found.add(container.get("imageDigest"), use)
                found.add_reference(container.get("image"), use)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
