"""Which ECR digests the region's workloads run, or will pull at their next scale-out (AWS calls, no decisions).

Sources, each read completely or not at all:
- Lambda: every image function version, by ImageUri and by ResolvedImageUri, the digest a tag
  resolved to when the code was set (aws-actions/aws-lambda-deploy#68);
- ECS services, scaled to zero or not: the task definitions of their PRIMARY and ACTIVE deployments
  and task sets, ACTIVE or INACTIVE, and the digests ECS resolved for their current service
  revisions (DescribeServiceRevisions, containerImages[].imageDigest): what a scale-out pulls
  (aws/amazon-ecs-agent#4226, containers-roadmap#2394);
- ECS tasks, running or pending: the digest each container was started from (containers[].imageDigest);
- ECS task definitions that are ACTIVE and name a digest;
- AWS Batch job definitions that are ACTIVE and name a digest;
- App Runner services whose image identifier is an ECR digest;
- SageMaker models (PrimaryContainer, Containers[], and the model packages they name).
Digests are content hashes, so a digest in use is protected in every repository of the region.
If any source cannot be read completely, the scan raises InUseScanFailed and nothing is deleted.
"""

from __future__ import annotations

import base64
import functools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import botocore.session
import urllib3
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError

from ecr_sweeper.errors import describe_error, error_code
from ecr_sweeper.kubernetes import KubernetesApi, KubernetesError
from ecr_sweeper.model import Protection, Sighting, Use
from ecr_sweeper.references import is_digest, parse_image, reported_digest

# ECS ListTasks filters by desired status: a pending task is on its way to RUNNING.
ECS_TASK_STATUSES = ("RUNNING", "PENDING")
# Batch sizes of the describe calls (ECS API reference: DescribeTasks 100, DescribeServices 10,
# DescribeServiceRevisions 20).
DESCRIBE_TASKS_SIZE = 100
DESCRIBE_SERVICES_SIZE = 10
DESCRIBE_SERVICE_REVISIONS_SIZE = 20
# App Runner ListServices: MaxResults 1..20, and boto3 has no paginator for it.
APP_RUNNER_PAGE_SIZE = 20
# A deployment's or task set's tasks run now (PRIMARY) or still drain or scale (ACTIVE).
LIVE_DEPLOYMENTS = ("PRIMARY", "ACTIVE")

# What `aws eks get-token` sends (awscli customizations/eks/get_token.py): a presigned
# sts:GetCallerIdentity URL with the cluster's name in the signed x-k8s-aws-id header.
TOKEN_PREFIX = "k8s-aws-v1."
CLUSTER_ID_HEADER = "x-k8s-aws-id"
TOKEN_EXPIRES_S = 60
ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
THROTTLED = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"})


class InUseScanFailed(RuntimeError):
    """A source of "in use" could not be read completely; no digest may be deleted on a partial picture."""

    def __init__(self, source: str, cause: str, fix: str) -> None:
        self.source, self.cause, self.fix = source, cause, fix
        super().__init__(f"in-use source {source} could not be read: {cause}. Fix: {fix}")


class InUse:
    """Every digest found in use, and who uses it; read-only once the scan is done."""

    def __init__(self) -> None:
        self._uses: dict[str, list[Use]] = defaultdict(list)
        # Sources that do not exist in the region (the service is not offered there).
        self.skipped: list[str] = []
        # EKS clusters not read because the operator said so (eksClustersIgnored).
        self.ignored_clusters: list[str] = []
        # Why Amazon Inspector's in-use data was not used (auto mode), if it was not.
        self.inspector_unavailable: str | None = None
        # Digest -> what Amazon Inspector saw: (images in use now, last time in use).
        self.inspector: dict[str, Sighting] = {}

    def add(self, digest: str | None, use: Use) -> None:
        if digest is not None and is_digest(digest) and use not in self._uses[digest]:
            self._uses[digest].append(use)

    def sighted(self, digest: str, sighting: Sighting) -> None:
        """Keep the strongest of several sightings of a digest (one per repository that holds it)."""
        known = self.inspector.get(digest)
        if known is None:
            self.inspector[digest] = sighting
            return
        last = [t for t in (known.last_in_use_at, sighting.last_in_use_at) if t is not None]
        self.inspector[digest] = Sighting(max(known.in_use_count, sighting.in_use_count), max(last, default=None))

    def add_reference(self, reference: str | None, use: Use) -> None:
        """An image reference protects its digest; a reference by tag alone names a tagged image,
        which is never deleted, and a reference to another registry is not ECR's."""
        ref = parse_image(reference)
        if ref is not None:
            self.add(ref.digest, use)

    @functools.cached_property
    def digests(self) -> Mapping[str, tuple[Use, ...]]:
        return {digest: tuple(uses) for digest, uses in self._uses.items()}

    def users(self, digest: str) -> tuple[Use, ...]:
        return self.digests.get(digest, ())

    @property
    def count(self) -> int:
        return len(self._uses)

    def by_family(self) -> dict[str, int]:
        """How many digests each family protects (a digest counts for each family that uses it)."""
        counts: Counter[str] = Counter()
        for uses in self._uses.values():
            counts.update({use.family.value for use in uses})
        return dict(counts)


@dataclass(frozen=True)
class ScanOptions:
    # EKS clusters whose workloads the operator accepts not to protect (context eksClustersIgnored).
    eks_ignored: frozenset[str] = frozenset()
    # Amazon Inspector's in-use data: "auto" (used when readable), "required", or "off".
    inspector: str = "auto"


class _Source:
    """One service's client, with every failure turned into a InUseScanFailed that names the
    call, the cause and the fix."""

    def __init__(
        self,
        service: str,
        client: Any,
        in_use: InUse,
        connect: Callable[..., Any] | None = None,
        options: ScanOptions = ScanOptions(),
    ) -> None:
        self.service = service
        self.client = client
        self.in_use = in_use
        self.connect = connect
        self.options = options

    def call(self, operation: str, *, gone: Iterable[str] = (), **kwargs: Any) -> dict[str, Any] | None:
        """One call; None when it answers with one of the `gone` error codes (deleted meanwhile)."""
        try:
            response: dict[str, Any] = getattr(self.client, operation)(**kwargs)
        except (ClientError, BotoCoreError, OSError) as error:
            if error_code(error) in gone:
                return None
            raise self._failed(operation, error) from error
        failures = response.get("failures")
        if failures:
            raise InUseScanFailed(
                self._name(operation),
                f"the response lists failures {failures}",
                "the next run reads it again; if it persists, look up the failed resources in the "
                f"{self.service} console",
            )
        return response

    def pages(self, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
        """Every item of every page, through boto3's paginator."""
        pages = iter(self.client.get_paginator(operation).paginate(**kwargs))
        while True:
            try:
                page = next(pages, None)
            except (ClientError, BotoCoreError, OSError) as error:
                raise self._failed(operation, error) from error
            if page is None:
                return
            yield from page.get(key, [])

    def _name(self, operation: str) -> str:
        return f"{self.service} {_pascal(operation)}"

    def _failed(self, operation: str, error: BaseException) -> BaseException:
        if isinstance(error, EndpointConnectionError | ConnectTimeoutError) and not _offered(self.client):
            return _NotOffered(self.service)
        return InUseScanFailed(
            self._name(operation), describe_error(error), _fix(self.client, self.service, operation, error)
        )


class _NotOffered(Exception):
    """The service does not exist in the region: nothing there can use a digest."""

    def __init__(self, service: str) -> None:
        self.service = service


def eks_token(sts: Any, cluster: str) -> str:
    """The bearer token EKS accepts: a presigned GetCallerIdentity URL naming the cluster."""

    def carry(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if CLUSTER_ID_HEADER in params:
            context[CLUSTER_ID_HEADER] = params.pop(CLUSTER_ID_HEADER)

    def sign_header(request: Any, **_: Any) -> None:
        if CLUSTER_ID_HEADER in request.context:
            request.headers[CLUSTER_ID_HEADER] = request.context[CLUSTER_ID_HEADER]

    events = sts.meta.events
    events.register("provide-client-params.sts.GetCallerIdentity", carry)
    events.register("before-sign.sts.GetCallerIdentity", sign_header)
    try:
        url = sts.generate_presigned_url(
            "get_caller_identity",
            Params={CLUSTER_ID_HEADER: cluster},
            ExpiresIn=TOKEN_EXPIRES_S,
            HttpMethod="GET",
        )
    finally:
        events.unregister("provide-client-params.sts.GetCallerIdentity", carry)
        events.unregister("before-sign.sts.GetCallerIdentity", sign_header)
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


# The order of the sources is the order of the reasons: a digest that several workloads use is
# reported with the first one found, so the most lasting need (a service) comes before a task.
def _scan_lambda(source: _Source) -> None:
    for function in source.pages("list_functions", "Functions", FunctionVersion="ALL"):
        if function.get("PackageType") != "Image":
            continue
        # A version deleted between the listing and this call is simply gone.
        response = source.call(
            "get_function",
            gone=("ResourceNotFoundException",),
            FunctionName=function["FunctionName"],
            Qualifier=function["Version"],
        )
        if response is None:
            continue
        use = Use(Protection.LAMBDA, function["FunctionArn"])
        code = response.get("Code", {})
        source.in_use.add_reference(code.get("ImageUri"), use)
        # The digest the tag resolved to when the code was set: what a cold start pulls.
        source.in_use.add_reference(code.get("ResolvedImageUri"), use)


def _scan_ecs(source: _Source) -> None:
    definitions: dict[str, list[str]] = {}

    def images_of(task_definition: str) -> list[str]:
        # Services often run an ACTIVE revision that the definition scan reads too: one describe each.
        if task_definition not in definitions:
            response = source.call("describe_task_definition", taskDefinition=task_definition) or {}
            containers = response.get("taskDefinition", {}).get("containerDefinitions", [])
            definitions[task_definition] = [c.get("image", "") for c in containers]
        return definitions[task_definition]

    for cluster in source.pages("list_clusters", "clusterArns"):
        _scan_ecs_services(source, cluster, images_of)
        _scan_ecs_tasks(source, cluster)
    for arn in source.pages("list_task_definitions", "taskDefinitionArns", status="ACTIVE"):
        use = Use(Protection.ECS, arn)
        for image in images_of(arn):
            source.in_use.add_reference(image, use)


def _scan_ecs_services(source: _Source, cluster: str, images_of: Callable[[str], list[str]]) -> None:
    """A service scaled to zero has no task, and its task definition may be INACTIVE; its next
    scale-out pulls what its deployment resolved (ECS "software version consistency")."""
    revisions: dict[str, Use] = {}
    for batch in _chunks(list(source.pages("list_services", "serviceArns", cluster=cluster)), DESCRIBE_SERVICES_SIZE):
        response = source.call("describe_services", cluster=cluster, services=batch) or {}
        for service in response.get("services", []):
            use = Use(Protection.ECS, service["serviceArn"])
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


def _scan_ecs_tasks(source: _Source, cluster: str) -> None:
    arns = [
        arn
        for status in ECS_TASK_STATUSES
        for arn in source.pages("list_tasks", "taskArns", cluster=cluster, desiredStatus=status)
    ]
    for batch in _chunks(arns, DESCRIBE_TASKS_SIZE):
        response = source.call("describe_tasks", cluster=cluster, tasks=batch) or {}
        for task in response.get("tasks", []):
            use = Use(Protection.ECS, task["taskArn"])
            for container in task.get("containers", []):
                # The digest ECS reports as running is protected whatever the image string says.
                source.in_use.add(container.get("imageDigest"), use)
                source.in_use.add_reference(container.get("image"), use)


def _scan_batch(source: _Source) -> None:
    for definition in source.pages("describe_job_definitions", "jobDefinitions", status="ACTIVE"):
        use = Use(Protection.BATCH, definition["jobDefinitionArn"])
        # Images sit in containerProperties, nodeProperties.nodeRangeProperties[] (container,
        # ecsProperties, eksProperties), ecsProperties.taskProperties[].containers[] and
        # eksProperties.podProperties (containers, initContainers): every "image" member of them.
        for key in ("containerProperties", "nodeProperties", "ecsProperties", "eksProperties"):
            for image in _values_of("image", definition.get(key)):
                source.in_use.add_reference(image, use)


def _scan_app_runner(source: _Source) -> None:
    token: str | None = None
    while True:
        page = source.call("list_services", MaxResults=APP_RUNNER_PAGE_SIZE, **({"NextToken": token} if token else {}))
        for summary in (page or {}).get("ServiceSummaryList", []):
            arn = summary["ServiceArn"]
            response = source.call("describe_service", gone=("ResourceNotFoundException",), ServiceArn=arn)
            if response is None:
                continue
            image = response["Service"].get("SourceConfiguration", {}).get("ImageRepository", {})
            source.in_use.add_reference(image.get("ImageIdentifier"), Use(Protection.APP_RUNNER, arn))
        token = (page or {}).get("NextToken")
        if not token:
            return


def _scan_sagemaker(source: _Source) -> None:
    packages: dict[str, list[dict[str, Any]]] = {}
    for summary in source.pages("list_models", "Models"):
        model = source.call("describe_model", ModelName=summary["ModelName"])
        if model is None:
            continue
        use = Use(Protection.SAGEMAKER, model.get("ModelArn") or summary["ModelArn"])
        primary = [model["PrimaryContainer"]] if model.get("PrimaryContainer") else []
        containers = [*primary, *model.get("Containers", [])]
        for container in containers:
            source.in_use.add_reference(container.get("Image"), use)
            package = container.get("ModelPackageName")
            if package and not container.get("Image"):
                # A model built from a model package runs the package's images (InferenceSpecification).
                if package not in packages:
                    described = source.call("describe_model_package", ModelPackageName=package) or {}
                    packages[package] = described.get("InferenceSpecification", {}).get("Containers", [])
                for packaged in packages[package]:
                    source.in_use.add(packaged.get("ImageDigest"), use)
                    source.in_use.add_reference(packaged.get("Image"), use)


def _scan_eks(source: _Source) -> None:
    """Every cluster's pods (their resolved digests) and workload templates, through its Kubernetes API."""
    assert source.connect is not None
    for cluster in source.pages("list_clusters", "clusters"):
        if cluster in source.options.eks_ignored:
            source.in_use.ignored_clusters.append(cluster)
            continue
        described = (source.call("describe_cluster", name=cluster) or {}).get("cluster", {})
        try:
            api = KubernetesApi(
                described["endpoint"],
                base64.b64decode(described["certificateAuthority"]["data"]),
                eks_token(source.connect("sts"), cluster),
            )
            for found in api.images():
                use = Use(Protection.EKS, f"{cluster}/{found.namespace}/{found.kind}/{found.name}")
                source.in_use.add(reported_digest(found.reference), use)
                source.in_use.add_reference(found.reference, use)
        except Exception as error:  # any unread cluster may run any digest
            raise InUseScanFailed(f"eks cluster {cluster}", _k8s_cause(error), _k8s_fix(cluster, error)) from error


def _scan_inspector(source: _Source) -> None:
    """What Amazon Inspector saw ECS tasks and EKS pods run, for images under enhanced scanning,
    including clusters the function cannot reach (inUseCount, lastInUseAt)."""
    if source.options.inspector == "off":
        return
    criteria = {
        "resourceType": [{"comparison": "EQUALS", "value": "AWS_ECR_CONTAINER_IMAGE"}],
        # Only images Inspector ever saw in use; the others carry no in-use data.
        "ecrImageLastInUseAt": [{"startInclusive": datetime(1970, 1, 2, tzinfo=timezone.utc)}],
    }
    try:
        for resource in source.pages("list_coverage", "coveredResources", filterCriteria=criteria):
            image = (resource.get("resourceMetadata") or {}).get("ecrImage") or {}
            # arn:aws:ecr:<region>:<account>:repository/<name>/sha256:<hex> (the ARN form Inspector uses).
            digest = str(resource.get("resourceId") or "").rpartition("/")[2]
            if is_digest(digest):
                source.in_use.sighted(digest, Sighting(int(image.get("inUseCount") or 0), image.get("lastInUseAt")))
    except InUseScanFailed as failed:
        if source.options.inspector == "required" or not failed.cause.startswith(INSPECTOR_UNAVAILABLE):
            raise
        source.in_use.inspector_unavailable = failed.cause


# Service (boto3 name) -> reader, in the order of the reasons.
SOURCES: tuple[tuple[str, Callable[[_Source], None]], ...] = (
    ("lambda", _scan_lambda),
    ("ecs", _scan_ecs),
    ("batch", _scan_batch),
    ("apprunner", _scan_app_runner),
    ("sagemaker", _scan_sagemaker),
    ("eks", _scan_eks),
    ("inspector2", _scan_inspector),
)
# Amazon Inspector not enabled, or not readable by the function: "auto" goes on without it.
INSPECTOR_UNAVAILABLE = ("AccessDenied", "ValidationException", "ResourceNotFoundException")


def scan(connect: Callable[..., Any], options: ScanOptions = ScanOptions()) -> InUse:
    """Read every source of the region that `connect(service)` builds clients for."""
    in_use = InUse()
    # One botocore session reads the SDK's endpoint data for the whole scan (a session per source
    # read endpoints.json again each time, about 0.05 s of CPU), and none is kept after it: a session
    # holds that data and every service model it read, about 10 MB.
    endpoint_data = functools.cache(botocore.session.get_session)
    for service, read in SOURCES:
        client = connect(service)
        if not _offered(client, endpoint_data):
            # Not in the SDK's endpoint data: one quick attempt tells a new region from a missing service.
            client = connect(service, attempts=1)
        try:
            read(_Source(service, client, in_use, connect, options))
        except _NotOffered as missing:
            in_use.skipped.append(missing.service)
        except InUseScanFailed:
            raise
        except Exception as error:  # any gap in the picture makes deletion unsafe
            raise InUseScanFailed(service, describe_error(error), "report this as a bug") from error
    return in_use


# (service, partition) -> the regions the SDK's endpoint data lists it in.
_REGIONS: dict[tuple[str, str], frozenset[str]] = {}


def _offered(client: Any, endpoint_data: Callable[[], botocore.session.Session] = botocore.session.get_session) -> bool:
    """Whether the SDK's endpoint data lists the service in the client's region. Used only to tell
    a service that does not exist in a region from one that cannot be reached."""
    meta = client.meta
    key = (meta.service_model.service_name, meta.partition)
    if key not in _REGIONS:
        _REGIONS[key] = frozenset(endpoint_data().get_available_regions(*key))
    return meta.region_name in _REGIONS[key]


def _fix(client: Any, service: str, operation: str, error: BaseException) -> str:
    action = f"{client.meta.service_model.signing_name}:{_pascal(operation)}"
    if isinstance(error, EndpointConnectionError | ConnectTimeoutError):
        return (
            f"let the function reach {client.meta.endpoint_url} (from a VPC: an interface endpoint for "
            f"{service} or a NAT gateway)"
        )
    code = error_code(error)
    if code in ACCESS_DENIED:
        return (
            f"allow {action} to the function's role (the stack grants it; look for a permissions boundary "
            "or a service control policy that denies it)"
        )
    if code in THROTTLED:
        return f"{action} was throttled after every retry; the next run reads it again, or raise its rate quota"
    return "the next run reads it again; if this persists, check the service's health in the region"


def _k8s_cause(error: BaseException) -> str:
    if isinstance(error, KubernetesError):
        return str(error)
    if isinstance(error, urllib3.exceptions.MaxRetryError) and error.reason is not None:
        error = error.reason
    if isinstance(error, urllib3.exceptions.SSLError):
        return f"TLS verification against the cluster's CA failed ({error})"
    if isinstance(error, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError):
        return f"the cluster's endpoint cannot be reached ({type(error).__name__})"
    return describe_error(error)


def _k8s_fix(cluster: str, error: BaseException) -> str:
    ignore = f"or accept not protecting its workloads with context eksClustersIgnored=[{cluster!r}]"
    if isinstance(error, KubernetesError) and error.status in (401, 403):
        return (
            f"give the function's role read access to {cluster}: context eksClusters=[{cluster!r}] creates an "
            "access entry with AmazonEKSViewPolicy (a CONFIG_MAP cluster needs the aws-auth lines in the README), "
            f"{ignore}"
        )
    if isinstance(error, urllib3.exceptions.MaxRetryError | urllib3.exceptions.HTTPError):
        return (
            f"let the function reach {cluster}'s endpoint: for a private endpoint, context vpcSubnetIds and "
            f"vpcSecurityGroupIds put it in the cluster's VPC, {ignore}"
        )
    return f"the next run reads it again; if this persists, check the cluster's health, {ignore}"


def _pascal(operation: str) -> str:
    return "".join(part.capitalize() for part in operation.split("_"))


def _values_of(key: str, tree: Any) -> Iterator[str]:
    if isinstance(tree, Mapping):
        for name, value in tree.items():
            if name == key and isinstance(value, str):
                yield value
            else:
                yield from _values_of(key, value)
    elif isinstance(tree, list):
        for item in tree:
            yield from _values_of(key, item)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
