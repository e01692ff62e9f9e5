"""Task definitions a service or task still uses: a revision being deleted stays (DELETE_IN_PROGRESS) while
one does, and an INACTIVE or DELETE_IN_PROGRESS revision starts no new service or deployment."""

from __future__ import annotations

from moto.ecs.exceptions import EcsClientException
from moto.ecs.models import EC2ContainerServiceBackend, TaskDefinition


def task_definitions_in_use(backend: EC2ContainerServiceBackend) -> set[str]:
    used: set[str] = set()
    for service in backend.services.values():
        if service.status == "INACTIVE":
            continue
        used.add(service.task_definition or "")
        used.update(d.get("taskDefinition") or "" for d in service.deployments)
    for tasks in backend.tasks.values():
        # desired_status, not last_status: reading moto's last_status advances the task's state.
        used.update(task.task_definition_arn for task in tasks.values() if task.desired_status != "STOPPED")
    return used


def forget_deleted_task_definitions(backend: EC2ContainerServiceBackend) -> None:
    """API_DeleteTaskDefinitions: a DELETE_IN_PROGRESS revision goes once no task or service uses it."""
    used = task_definitions_in_use(backend)
    for revisions in backend.task_definitions.values():
        for number, definition in list(revisions.items()):
            if definition.status == "DELETE_IN_PROGRESS" and definition.arn not in used:
                del revisions[number]


def require_active(definition: TaskDefinition) -> TaskDefinition:
    """API_DeregisterTaskDefinition / API_DeleteTaskDefinitions: an INACTIVE or DELETE_IN_PROGRESS
    revision cannot create a service or be deployed to one."""
    if definition.status != "ACTIVE":
        raise EcsClientException("TaskDefinition is inactive")
    return definition
