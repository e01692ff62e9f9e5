"""The operations moto lacks or answers all at once: DescribeServiceRevisions, DescribeServiceDeployments and
ListServiceDeployments; ListServices and ListTaskDefinitions paged. Plain functions, set on
`EC2ContainerServiceResponse` by `emulator.install()`, so that a test can monkeypatch one to fail."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from moto.core.responses import ActionResult
from moto.ecs.exceptions import InvalidParameterException
from moto.ecs.responses import EC2ContainerServiceResponse

from emulator import paging
from emulator.ecs_services.history import arn_prefix, history_of

# DescribeServiceRevisions and DescribeServiceDeployments: "You can specify a maximum of 20 ARNs"
# (botocore model; API_DescribeServiceRevisions, API_DescribeServiceDeployments).
MAX_DESCRIBE_ARNS = 20
# ListServiceDeployments and ListServices: maxResults 1..100; 20 and 10 when left out (botocore model).
DEFAULT_LIST_PAGE = 20
DEFAULT_SERVICES_PAGE = 10
MAX_LIST_PAGE = 100


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
    found, failures = _describe(history_of(self.ecs_backend).revisions, _arns(self, "serviceRevisionArns"))
    return ActionResult({"serviceRevisions": found, "failures": failures})


def describe_service_deployments(self: EC2ContainerServiceResponse) -> ActionResult:
    """API_DescribeServiceDeployments: up to 20 ARNs; serviceDeployments[] and failures[]."""
    found, failures = _describe(history_of(self.ecs_backend).deployments, _arns(self, "serviceDeploymentArns"))
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
    prefix = arn_prefix(backend, "service-deployment", service)
    records = sorted(
        (
            record
            for arn, record in history_of(backend).deployments.items()
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
