"""ECS: services, scaled to zero or not (the task definitions of their PRIMARY and ACTIVE deployments
and task sets, and the digests ECS resolved for their current service revisions: what a scale-out
pulls, aws/amazon-ecs-agent#4226, containers-roadmap#2394); running and pending tasks; ACTIVE task
definitions. A task definition revision is described once, then answered from earlier runs' facts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from ecr_sweeper.aws.in_use.calls import Source
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
    def images_of(task_definition: str) -> tuple[str, ...]:
        # Services often run an ACTIVE revision that the definition scan reads too: one describe each,
        # and none for a revision an earlier run described (a revision never changes once registered).
        known = source.facts.images_of(task_definition)
        if known is not None:
            return known
        response = source.call("describe_task_definition", taskDefinition=task_definition) or {}
        containers = response.get("taskDefinition", {}).get("containerDefinitions", [])
        images = tuple(c.get("image", "") for c in containers)
        source.facts.learn_images(task_definition, images)
        return images

    for cluster in source.pages("list_clusters", "clusterArns"):
        scan_ecs_services(source, cluster, images_of)
        scan_ecs_tasks(source, cluster)
    for arn in source.pages("list_task_definitions", "taskDefinitionArns", status="ACTIVE"):
        use = source.use(Protection.ECS, arn)
        for image in images_of(arn):
            source.in_use.add_reference(image, use)


def scan_ecs_services(source: Source[ECSClient], cluster: str, images_of: Callable[[str], tuple[str, ...]]) -> None:
    """A service scaled to zero has no task, and its task definition may be INACTIVE; its next
    scale-out pulls what its deployment resolved (ECS "software version consistency")."""
    revisions: dict[str, Use] = {}
    for batch in _chunks(list(source.pages("list_services", "serviceArns", cluster=cluster)), DESCRIBE_SERVICES_SIZE):
        response = source.call("describe_services", cluster=cluster, services=batch) or {}
        for service in response.get("services", []):
            use = source.use(Protection.ECS, service["serviceArn"])
            live = [
                *(d for d in service.get("deployments", []) if d.get("status") in LIVE_DEPLOYMENTS),
                *(t for t in service.get("taskSets", []) if t.get("status") in LIVE_DEPLOYMENTS),
            ]
            for task_definition in dict.fromkeys(d["taskDefinition"] for d in live if d.get("taskDefinition")):
                for image in images_of(task_definition):
                    source.in_use.add_reference(image, use)
            for revision in service.get("currentServiceRevisions", []):
                revisions[revision["arn"]] = use
    for batch in _chunks(list(revisions), DESCRIBE_SERVICE_REVISIONS_SIZE):
        response = source.call("describe_service_revisions", serviceRevisionArns=batch) or {}
        for revision in response.get("serviceRevisions", []):
            use = revisions[revision["serviceRevisionArn"]]
            for image in revision.get("containerImages", []):
                source.in_use.add(image.get("imageDigest"), use)
                source.in_use.add_reference(image.get("image"), use)


def scan_ecs_tasks(source: Source[ECSClient], cluster: str) -> None:
    arns = [
        arn
        for status in ECS_TASK_STATUSES
        for arn in source.pages("list_tasks", "taskArns", cluster=cluster, desiredStatus=status)
    ]
    for batch in _chunks(arns, DESCRIBE_TASKS_SIZE):
        response = source.call("describe_tasks", cluster=cluster, tasks=batch) or {}
        for task in response.get("tasks", []):
            use = source.use(Protection.ECS, task["taskArn"])
            for container in task.get("containers", []):
                # The digest ECS reports as running is protected whatever the image string says.
                source.in_use.add(container.get("imageDigest"), use)
                source.in_use.add_reference(container.get("image"), use)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
