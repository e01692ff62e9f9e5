"""moto's ECS services, corrected where a scan of "which digests does a service still need" reads them.

- Service revisions and service deployments: every deployment of a service records the digest
  each container image resolved to when it started (software version consistency). moto has no
  revisions, no service deployments, and neither DescribeServiceRevisions, DescribeServiceDeployments
  nor ListServiceDeployments.
- DescribeServices reports currentServiceRevisions and currentServiceDeployment; moto leaves them out.
- A deployment that replaces the task definition is a new PRIMARY deployment, and the previous one
  stays ACTIVE until the rollout ends (`finish_rollout` ends it); moto keeps one deployment and does
  not even change its taskDefinition.
- Task definitions: a family without a revision names the latest ACTIVE revision; an INACTIVE or
  DELETE_IN_PROGRESS revision cannot start a new service or deployment, yet stays describable while a
  service or task uses it.
- ListServices leaves deleted services out and pages (10 by default); DescribeServices takes at most
  10 services. moto lists deleted services, returns every service at once, and describes any number.
- ListTaskDefinitions pages (100 by default, maxResults 1..100); moto returns every revision at once.

`emulator.install()` patches moto's ECS backend and response classes in this process, which serves both
`mock_aws()` and `ThreadedMotoServer`. The new operations are plain functions on
`EC2ContainerServiceResponse`, so a test can monkeypatch one to fail.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from moto.core.responses import ActionResult
from moto.ecs.exceptions import (
    EcsClientException,
    ECSException,
    InvalidParameterException,
    TaskDefinitionNotFoundException,
)
from moto.ecs.models import EC2ContainerServiceBackend, Service, TaskDefinition, ecs_backends
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.moto_api._internal import mock_random
from moto.utilities.utils import get_partition

from emulator import paging
from emulator.compute import resolve

DEFAULT_ACCOUNT = "123456789012"

# DescribeServiceRevisions and DescribeServiceDeployments: "You can specify a maximum of 20 ARNs"
# (botocore model; API_DescribeServiceRevisions, API_DescribeServiceDeployments).
MAX_DESCRIBE_ARNS = 20
# ListServiceDeployments and ListServices: maxResults 1..100; 20 and 10 when left out (botocore model).
DEFAULT_LIST_PAGE = 20
DEFAULT_SERVICES_PAGE = 10
MAX_LIST_PAGE = 100
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

# What a new deployments[] entry takes over from the PRIMARY one it replaces.
_INHERITED = ("launchType", "platformVersion", "platformFamily")

_DIGEST = re.compile(r"@(sha256:[0-9a-f]{64})$")


@dataclass
class _History:
    """A region's service revisions and service deployments, by ARN."""

    revisions: dict[str, dict[str, Any]] = field(default_factory=dict)
    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)


def _history(backend: EC2ContainerServiceBackend) -> _History:
    # Kept in the backend's __dict__ so that moto's reset (which empties it) forgets it too.
    history = backend.__dict__.get("service_history")
    if history is None:
        history = backend.service_history = _History()
    return history  # type: ignore[no-any-return]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _arn_prefix(backend: EC2ContainerServiceBackend, kind: str, service: Service) -> str:
    region, partition = backend.region_name, get_partition(backend.region_name)
    return f"arn:{partition}:ecs:{region}:{backend.account_id}:{kind}/{service.cluster_name}/{service.name}/"


def _is_ecs_controlled(service: Service) -> bool:
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
    arn = _arn_prefix(backend, "service-revision", service) + str(mock_random.randint(10**18, 2**63 - 1))
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
    _history(backend).revisions[arn] = revision
    return revision


def _current_deployment(backend: EC2ContainerServiceBackend, service: Service) -> dict[str, Any] | None:
    arn = getattr(service, "current_service_deployment", None)
    return _history(backend).deployments.get(arn) if arn else None


def _start_deployment(backend: EC2ContainerServiceBackend, service: Service, *, initial: bool) -> None:
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
        superseded = _current_deployment(backend, service)
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

    arn = _arn_prefix(backend, "service-deployment", service) + mock_random.get_random_string(21)
    _history(backend).deployments[arn] = {
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
        _complete(backend, service)


def _complete(backend: EC2ContainerServiceBackend, service: Service) -> None:
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

    record = _current_deployment(backend, service)
    if record is None:
        return
    target = _summary(record["targetServiceRevision"]["arn"], desired, desired, 0)
    if record["status"] == "IN_PROGRESS":
        record.update(status="SUCCESSFUL", finishedAt=now, updatedAt=now, targetServiceRevision=dict(target))
    service.current_service_revisions = [target]
    _forget_deleted_task_definitions(backend)


def _rescale(backend: EC2ContainerServiceBackend, service: Service) -> None:
    """desiredCount alone starts no deployment; the PRIMARY deployment and its revision follow it."""
    for deployment in service.deployments:
        if deployment["status"] == "PRIMARY":
            deployment.update(desiredCount=service.desired_count, updatedAt=_now())
    record = _current_deployment(backend, service)
    if record is None:
        return
    finished = record["status"] != "IN_PROGRESS"
    for summary in getattr(service, "current_service_revisions", None) or []:
        if summary["arn"] == record["targetServiceRevision"]["arn"]:
            summary["requestedTaskCount"] = service.desired_count
            if finished:
                summary.update(runningTaskCount=service.running_count, pendingTaskCount=service.pending_count)


def _forget(backend: EC2ContainerServiceBackend, service: Service) -> None:
    """Developer guide, service revisions and service deployments: "Amazon ECS deletes the service
    revision [service deployment] when you delete a service"."""
    history = _history(backend)
    for kind, records in (("service-revision", history.revisions), ("service-deployment", history.deployments)):
        prefix = _arn_prefix(backend, kind, service)
        for arn in [arn for arn in records if arn.startswith(prefix)]:
            del records[arn]


# ---------------------------------------------------------------------------------------------
# Task definitions a service or task still uses
# ---------------------------------------------------------------------------------------------


def _task_definitions_in_use(backend: EC2ContainerServiceBackend) -> set[str]:
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


def _forget_deleted_task_definitions(backend: EC2ContainerServiceBackend) -> None:
    """API_DeleteTaskDefinitions: a DELETE_IN_PROGRESS revision goes once no task or service uses it."""
    used = _task_definitions_in_use(backend)
    for revisions in backend.task_definitions.values():
        for number, definition in list(revisions.items()):
            if definition.status == "DELETE_IN_PROGRESS" and definition.arn not in used:
                del revisions[number]


def _active(definition: TaskDefinition) -> TaskDefinition:
    """API_DeregisterTaskDefinition / API_DeleteTaskDefinitions: an INACTIVE or DELETE_IN_PROGRESS
    revision cannot create a service or be deployed to one."""
    if definition.status != "ACTIVE":
        raise EcsClientException("TaskDefinition is inactive")
    return definition


# ---------------------------------------------------------------------------------------------
# Backend corrections
# ---------------------------------------------------------------------------------------------


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
            task_definition_str = _active(self.describe_task_definition(task_definition_str)).arn
        service = original(self, cluster_str, service_name, desired_count, task_definition_str, *args, **kwargs)
        _forget(self, service)  # moto replaces a service of the same name in place.
        if _is_ecs_controlled(service):
            _start_deployment(self, service, initial=True)
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
                _active(definition)
            # ECS reports the task definition's ARN; moto stored the string as given (a bare family).
            properties["task_definition"] = definition.arn
        before = {name: copy.deepcopy(getattr(service, name, None)) for name in _REVISION_PROPERTIES}
        requested = {name: copy.deepcopy(properties.get(name)) for name in _REVISION_PROPERTIES}
        rescaled = properties.get("desired_count") is not None

        service = original(self, properties)

        if not _is_ecs_controlled(service):
            return service
        changed = any(value is not None and value != before[name] for name, value in requested.items())
        if force or changed or service.task_definition != previous:
            # API_UpdateService: taskDefinition "triggers a new service deployment"; so does
            # forceNewDeployment, which re-resolves image tags ("Container image resolution").
            _start_deployment(self, service, initial=False)
        elif rescaled:
            _rescale(self, service)
        return service

    return update_service


def _delete_service(original: Callable[..., Service]) -> Callable[..., Service]:
    def delete_service(self: EC2ContainerServiceBackend, cluster_name: str, service_name: str, force: bool) -> Service:
        service = original(self, cluster_name, service_name, force)
        _forget(self, service)
        _forget_deleted_task_definitions(self)
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
        used = _task_definitions_in_use(self)
        for definition in deleted:
            if definition.arn in used:
                self.task_definitions.setdefault(definition.family, {})[definition.revision] = definition
        return deleted, failures

    return delete_task_definitions


# ---------------------------------------------------------------------------------------------
# New operations
# ---------------------------------------------------------------------------------------------


def _arns(response: EC2ContainerServiceResponse, name: str) -> list[str]:
    arns: list[str] = response._get_param(name) or []
    if len(arns) > MAX_DESCRIBE_ARNS:
        raise InvalidParameterException(f"{name} can have at most {MAX_DESCRIBE_ARNS} items.")
    return arns


def _describe(records: dict[str, dict[str, Any]], arns: list[str]) -> tuple[list[dict[str, Any]], list[Any]]:
    # An unknown ARN is a failures[] entry with reason MISSING, as in ECS's other Describe* calls
    # (API_Failure; API_DescribeServiceDeployments documents MISSING for revisions it cannot find).
    found = [records[arn] for arn in arns if arn in records]
    failures = [{"arn": arn, "reason": "MISSING"} for arn in arns if arn not in records]
    return found, failures


def describe_service_revisions(self: EC2ContainerServiceResponse) -> ActionResult:
    """API_DescribeServiceRevisions: up to 20 ARNs; serviceRevisions[] and failures[]."""
    found, failures = _describe(_history(self.ecs_backend).revisions, _arns(self, "serviceRevisionArns"))
    return ActionResult({"serviceRevisions": found, "failures": failures})


def describe_service_deployments(self: EC2ContainerServiceResponse) -> ActionResult:
    """API_DescribeServiceDeployments: up to 20 ARNs; serviceDeployments[] and failures[]."""
    found, failures = _describe(_history(self.ecs_backend).deployments, _arns(self, "serviceDeploymentArns"))
    return ActionResult({"serviceDeployments": found, "failures": failures})


def _page(
    response: EC2ContainerServiceResponse, items: list[Any], scope: str, default: int
) -> tuple[list[Any], str | None]:
    """One page of `items` for maxResults (1..100) and an opaque nextToken bound to `scope`."""
    max_results = response._get_param("maxResults")
    size = default if max_results is None else int(max_results)
    if not 1 <= size <= MAX_LIST_PAGE:
        raise InvalidParameterException(f"maxResults must be between 1 and {MAX_LIST_PAGE}.")
    token = response._get_param("nextToken")
    return paging.page(items, size, token, scope, lambda: InvalidParameterException("Invalid nextToken."))


def _instant(value: Any) -> datetime:
    # moto parses a request's timestamps to naive UTC datetimes; the records hold aware ones.
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(float(value), timezone.utc)


_BRIEF_FIELDS = (
    "serviceDeploymentArn",
    "serviceArn",
    "clusterArn",
    "startedAt",
    "createdAt",
    "finishedAt",
    "status",
    "statusReason",
)


def list_service_deployments(self: EC2ContainerServiceResponse) -> ActionResult:
    """API_ListServiceDeployments: a service's deployments (ServiceDeploymentBrief), filtered by status
    and createdAt, newest first (assumed: the reference gives no order), paged by maxResults 1..100
    (default 20) and nextToken."""
    backend = self.ecs_backend
    service = backend._get_service(self._get_param("cluster") or "default", self._get_param("service"))
    statuses = set(self._get_param("status") or [])
    created = self._get_param("createdAt") or {}
    after = _instant(created["after"]) if created.get("after") is not None else None
    before = _instant(created["before"]) if created.get("before") is not None else None
    prefix = _arn_prefix(backend, "service-deployment", service)
    records = sorted(
        (
            record
            for arn, record in _history(backend).deployments.items()
            if arn.startswith(prefix)
            and (not statuses or record["status"] in statuses)
            and (after is None or record["createdAt"] >= after)
            and (before is None or record["createdAt"] <= before)
        ),
        key=lambda record: record["createdAt"],
    )
    # Sorted oldest first, then reversed: deployments started within one clock tick stay newest first.
    records.reverse()
    page, token = _page(self, records, f"deployments:{service.arn}", DEFAULT_LIST_PAGE)
    result: dict[str, Any] = {
        "serviceDeployments": [
            {
                **{key: record[key] for key in _BRIEF_FIELDS if key in record},
                "targetServiceRevisionArn": record["targetServiceRevision"]["arn"],
            }
            for record in page
        ]
    }
    if token:
        result["nextToken"] = token
    return ActionResult(result)


def list_services(self: EC2ContainerServiceResponse) -> ActionResult:
    """API_ListServices: paged by maxResults 1..100, "up to 10 results" without it, and nextToken;
    moto returns every service at once, which hides a scan that reads only the first page."""
    cluster = self._get_param("cluster") or "default"
    arns = self.ecs_backend.list_services(
        cluster, self._get_param("schedulingStrategy"), launch_type=self._get_param("launchType")
    )
    page, token = _page(self, arns, f"services:{self.ecs_backend._get_cluster(cluster).arn}", DEFAULT_SERVICES_PAGE)
    return ActionResult({"serviceArns": page, **({"nextToken": token} if token else {})})


def list_task_definitions(self: EC2ContainerServiceResponse) -> ActionResult:
    """API_ListTaskDefinitions: paged by maxResults 1..100, "up to 100 results" without it, and nextToken."""
    family, status = self._get_param("familyPrefix"), self._get_param("status", "ACTIVE")
    arns = self.ecs_backend.list_task_definitions(family, status)
    page, token = _page(self, arns, f"task-definitions:{family}:{status}", MAX_LIST_PAGE)
    return ActionResult({"taskDefinitionArns": page, **({"nextToken": token} if token else {})})


# ---------------------------------------------------------------------------------------------
# Test helpers
# ---------------------------------------------------------------------------------------------


def finish_rollout(cluster: str, service: str, region: str = "us-east-1", account: str = DEFAULT_ACCOUNT) -> None:
    """Complete the service's rollout as ECS does once the new tasks are steady: the ACTIVE
    deployments become INACTIVE (no longer listed), the service deployment is SUCCESSFUL, and
    currentServiceRevisions keeps only the target revision. `service` is a name or an ARN."""
    backend = ecs_backends[account][region]
    _complete(backend, backend._get_service(cluster, service))


def _install() -> None:
    """Apply the corrections to moto's ECS classes. Called by emulator.install(), once, under its lock,
    after compute's corrections: resolve() reads the corrected ECR, and the task containers' digests
    come from there."""
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
    EC2ContainerServiceResponse.describe_service_revisions = describe_service_revisions
    EC2ContainerServiceResponse.describe_service_deployments = describe_service_deployments
    EC2ContainerServiceResponse.list_service_deployments = list_service_deployments
    EC2ContainerServiceResponse.list_services = list_services
    EC2ContainerServiceResponse.list_task_definitions = list_task_definitions
