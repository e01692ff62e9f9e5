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

Modules, by job (the names callers use are importable from `emulator.ecs_services`)
- `history`: service revisions and service deployments as ECS records them; `finish_rollout`.
- `task_definitions`: which revisions a service or task still uses, and which may start one.
- `corrections`: moto's ECS backend corrected (task definition families, services created, updated,
  deleted, listed and described).
- `operations`: the operations moto lacks or does not page.
"""

from __future__ import annotations

from moto.ecs.responses import EC2ContainerServiceResponse

from emulator.ecs_services.corrections import MAX_DESCRIBE_SERVICES, correct_backend
from emulator.ecs_services.history import DEFAULT_ACCOUNT, finish_rollout
from emulator.ecs_services.operations import (
    DEFAULT_LIST_PAGE,
    DEFAULT_SERVICES_PAGE,
    MAX_DESCRIBE_ARNS,
    MAX_LIST_PAGE,
    describe_service_deployments,
    describe_service_revisions,
    list_service_deployments,
    list_services,
    list_task_definitions,
)

__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_LIST_PAGE",
    "DEFAULT_SERVICES_PAGE",
    "MAX_DESCRIBE_ARNS",
    "MAX_DESCRIBE_SERVICES",
    "MAX_LIST_PAGE",
    "finish_rollout",
]


def _install() -> None:
    """Apply the corrections to moto's ECS classes. Called by emulator.install(), once, under its lock,
    after compute's corrections: resolve() reads the corrected ECR, and the task containers' digests
    come from there."""
    correct_backend()
    EC2ContainerServiceResponse.describe_service_revisions = describe_service_revisions
    EC2ContainerServiceResponse.describe_service_deployments = describe_service_deployments
    EC2ContainerServiceResponse.list_service_deployments = list_service_deployments
    EC2ContainerServiceResponse.list_services = list_services
    EC2ContainerServiceResponse.list_task_definitions = list_task_definitions
