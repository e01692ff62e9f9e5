"""Corrections to moto's ECS backend: a family names its latest ACTIVE revision; creating, updating and deleting a
service records its revisions and deployments (history.py); ListServices leaves deleted services out;
DescribeServices takes at most 10; a task definition being deleted stays while a service or task uses it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from moto.ecs.exceptions import ECSException, InvalidParameterException, TaskDefinitionNotFoundException
from moto.ecs.models import EC2ContainerServiceBackend, Service, TaskDefinition

from emulator.ecs_services.history import forget_service, is_ecs_controlled, rescale, start_deployment
from emulator.ecs_services.task_definitions import (
    forget_deleted_task_definitions,
    require_active,
    task_definitions_in_use,
)

# DescribeServices: "You may specify up to 10 services to describe in a single operation" (botocore model).
MAX_DESCRIBE_SERVICES = 10

# UpdateService parameters (as moto names them) that a service revision records
# (developer guide, "Properties included in an Amazon ECS service revision"): changing one starts a
# deployment. desiredCount is not among them: scaling is not a deployment.
_REVISION_PROPERTIES = (
    "capacity_provider_strategy",
    "platform_version",
    "load_balancers",
    "service_registries",
    "network_configuration",
    "service_connect_configuration",
    "volume_configurations",
    "vpc_lattice_configurations",
)


def _describe_task_definition(original: Callable[..., TaskDefinition]) -> Callable[..., TaskDefinition]:
    def describe_task_definition(self: EC2ContainerServiceBackend, task_definition_str: str) -> TaskDefinition:
        # API_DescribeTaskDefinition: a family alone names "the latest ACTIVE revision"; moto takes
        # the highest revision whatever its status. CreateService, UpdateService and RunTask resolve
        # a family the same way.
        name = task_definition_str.split("/")[-1]
        if ":" in name:
            return original(self, task_definition_str)
        revisions = self.task_definitions.get(name, {})
        active = [number for number, definition in revisions.items() if definition.status == "ACTIVE"]
        if not active:
            raise TaskDefinitionNotFoundException()
        return revisions[max(active)]

    return describe_task_definition


def _create_service(original: Callable[..., Service]) -> Callable[..., Service]:
    def create_service(
        self: EC2ContainerServiceBackend,
        cluster_str: str,
        service_name: str,
        desired_count: int,
        task_definition_str: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Service:
        if task_definition_str:
            task_definition_str = require_active(self.describe_task_definition(task_definition_str)).arn
        service = original(self, cluster_str, service_name, desired_count, task_definition_str, *args, **kwargs)
        forget_service(self, service)  # moto replaces a service of the same name in place.
        if is_ecs_controlled(service):
            start_deployment(self, service, initial=True)
        return service

    return create_service


def _update_service(original: Callable[..., Service]) -> Callable[..., Service]:
    def update_service(self: EC2ContainerServiceBackend, service_properties: dict[str, Any]) -> Service:
        properties = dict(service_properties)
        service = self._get_service(properties.get("cluster", "default"), properties["service"].split("/")[-1])
        if service.status != "ACTIVE":
            # API_UpdateService lists ServiceNotActiveException; moto would update a deleted service.
            raise ECSException("ServiceNotActiveException", "Service was not ACTIVE.")
        # moto answers forceNewDeployment by renaming its one deployment; a new deployment is made here.
        force = bool(properties.pop("force_new_deployment", False))
        previous = service.task_definition
        if properties.get("task_definition"):
            definition = self.describe_task_definition(properties["task_definition"])
            if definition.arn != previous:
                require_active(definition)
            # ECS reports the task definition's ARN; moto stored the string as given (a bare family).
            properties["task_definition"] = definition.arn
        before = {name: copy.deepcopy(getattr(service, name, None)) for name in _REVISION_PROPERTIES}
        requested = {name: copy.deepcopy(properties.get(name)) for name in _REVISION_PROPERTIES}
        rescaled = properties.get("desired_count") is not None

        service = original(self, properties)

        if not is_ecs_controlled(service):
            return service
        changed = any(value is not None and value != before[name] for name, value in requested.items())
        if force or changed or service.task_definition != previous:
            # API_UpdateService: taskDefinition "triggers a new service deployment"; so does
            # forceNewDeployment, which re-resolves image tags ("Container image resolution").
            start_deployment(self, service, initial=False)
        elif rescaled:
            rescale(self, service)
        return service

    return update_service


def _delete_service(original: Callable[..., Service]) -> Callable[..., Service]:
    def delete_service(self: EC2ContainerServiceBackend, cluster_name: str, service_name: str, force: bool) -> Service:
        service = original(self, cluster_name, service_name, force)
        forget_service(self, service)
        forget_deleted_task_definitions(self)
        return service

    return delete_service


def _list_services(original: Callable[..., list[str]]) -> Callable[..., list[str]]:
    def list_services(self: EC2ContainerServiceBackend, cluster_str: str, *args: Any, **kwargs: Any) -> list[str]:
        # API_DeleteService: a deleted (DRAINING, then INACTIVE) service "is no longer visible ... in
        # the ListServices API operation"; moto keeps listing it, and a scan would then ask for
        # revisions that ECS has deleted.
        cluster = self._get_cluster(cluster_str)
        gone = {s.arn for s in self.services.values() if s.cluster_name == cluster.name and s.status != "ACTIVE"}
        return [arn for arn in original(self, cluster_str, *args, **kwargs) if arn not in gone]

    return list_services


def _describe_services(original: Callable[..., Any]) -> Callable[..., Any]:
    def describe_services(self: EC2ContainerServiceBackend, cluster_str: str, service_names_or_arns: list[str]) -> Any:
        # moto describes any number at once; ECS refuses more than 10, a scan must batch them.
        if len(service_names_or_arns) > MAX_DESCRIBE_SERVICES:
            raise InvalidParameterException(f"services can have at most {MAX_DESCRIBE_SERVICES} items.")
        return original(self, cluster_str, service_names_or_arns)

    return describe_services


def _delete_task_definitions(original: Callable[..., Any]) -> Callable[..., Any]:
    def delete_task_definitions(self: EC2ContainerServiceBackend, task_definitions: list[str]) -> Any:
        deleted, failures = original(self, task_definitions)
        # API_DeleteTaskDefinitions: "A task definition revision will stay in DELETE_IN_PROGRESS status
        # until all the associated tasks and services have been terminated"; moto drops it at once,
        # and the services using it could no longer be described through it.
        used = task_definitions_in_use(self)
        for definition in deleted:
            if definition.arn in used:
                self.task_definitions.setdefault(definition.family, {})[definition.revision] = definition
        return deleted, failures

    return delete_task_definitions


def correct_backend() -> None:
    """Wrap moto's ECS backend methods in the corrections above (once, from the package's _install())."""
    backend = EC2ContainerServiceBackend
    backend.describe_task_definition = _describe_task_definition(backend.describe_task_definition)
    backend.create_service = _create_service(backend.create_service)
    backend.update_service = _update_service(backend.update_service)
    backend.delete_service = _delete_service(backend.delete_service)
    backend.list_services = _list_services(backend.list_services)
    backend.describe_services = _describe_services(backend.describe_services)
    backend.delete_task_definitions = _delete_task_definitions(backend.delete_task_definitions)
    # Serialized by moto from these attributes (DescribeServices, CreateService, UpdateService):
    # absent (None) on services made before emulator.install().
    Service.current_service_revisions = None
    Service.current_service_deployment = None
