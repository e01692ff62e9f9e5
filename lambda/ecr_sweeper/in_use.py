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
- SageMaker models (PrimaryContainer, Containers[], and the model packages they name);
- EKS clusters, through their Kubernetes API; Amazon Inspector's in-use data.
Digests are content hashes, so a digest in use is protected in every repository of the region.
A central registry's consumers (ScanOptions.consumers: listed accounts, or every ACTIVE account of
the AWS Organization) are read the same way, each through a role assumed in it, every source of the
region; their reasons name the account ("in use by ecs 210987654321 <ARN>").
If any source, of any account, cannot be read completely, the scan raises InUseScanFailed and
nothing is deleted.

What never changes once it exists is read once and then remembered between runs (ImmutableFacts,
kept by in_use_cache.py): the images a task definition revision `family:N` names, and the code of a
published Lambda version. Which revisions are ACTIVE and which versions exist are listed every run,
as is everything else (services, deployments, service revisions, tasks, `$LATEST`, ...). Each
consumer account has facts of its own, cached under its own account ID.
"""

from __future__ import annotations

import base64
import functools
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import botocore.session
import urllib3
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError

from ecr_sweeper.deadline import Deadline
from ecr_sweeper.errors import describe_error, error_code
from ecr_sweeper.kubernetes import KubernetesApi, KubernetesError
from ecr_sweeper.model import Protection, Sighting, Use
from ecr_sweeper.references import is_digest, parse_image, reported_digest
from ecr_sweeper.settings import Consumers

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
# organizations:ListAccounts answers only in the management account or a delegated administrator
# account (Organizations API reference, ListAccounts); elsewhere, or outside an organization, these.
NOT_ORGANIZATION_ADMIN = ACCESS_DENIED | {"AWSOrganizationsNotInUseException"}


class InUseScanFailed(RuntimeError):
    """A source of "in use" could not be read completely; no digest may be deleted on a partial picture."""

    # The calls the scan made before it failed (InUseScanCalls counts them too).
    calls = 0

    def __init__(self, source: str, cause: str, fix: str) -> None:
        self.source, self.cause, self.fix = source, cause, fix
        super().__init__(f"in-use source {source} could not be read: {cause}. Fix: {fix}")


class ScanOutOfTime(InUseScanFailed):
    """The invocation's time ran out before every source was read: the picture is partial."""

    def __init__(self, margin_s: float, calls: int) -> None:
        super().__init__(
            "in-use scan",
            f"the full scan did not finish in the time left (less than {margin_s:g} s of the invocation were left "
            f"after {calls} calls)",
            "none needed when the in-use cache is on and can be written (IN_USE_CACHE_BUCKET, set by the stack): "
            "the task definitions and function versions read so far are cached, so the next run describes only "
            "the rest. Without the cache (or with an in_use_cache_error record saying it cannot be written), every "
            "run describes them all again: turn it on, or fix what the record names",
        )
        # "in-use scan failed: <this>", as the run's error and its in_use_scan_failed record say it.
        RuntimeError.__init__(self, f"{self.cause}. Fix: {self.fix}")


class InUse:
    """Every digest found in use, and who uses it; read-only once the scan is done."""

    def __init__(self) -> None:
        # Digest -> its users, in the order found, each once. A dict, not a list: one digest may have
        # tens of thousands of users (every revision a deployment pipeline registered for an
        # unchanged image), and a list's membership test made the scan quadratic in them.
        self._uses: dict[str, dict[Use, None]] = defaultdict(dict)
        # The API calls the scan made (each page of a listing is one), and how many describe calls
        # the immutable facts of earlier runs spared (ImmutableFacts.hits).
        self.api_calls = 0
        self.from_cache = 0
        # Sources that do not exist in the region (the service is not offered there).
        self.skipped: list[str] = []
        # EKS clusters not read because the operator said so (eksClustersIgnored).
        self.ignored_clusters: list[str] = []
        # Consumer accounts read completely, and those not read because the operator said so
        # (consumerAccountsIgnored).
        self.consumer_accounts: list[str] = []
        self.ignored_accounts: list[str] = []
        # Why Amazon Inspector's in-use data was not used (auto mode), if it was not.
        self.inspector_unavailable: str | None = None
        # Digest -> what Amazon Inspector saw: (images in use now, last time in use).
        self.inspector: dict[str, Sighting] = {}

    def add(self, digest: str | None, use: Use) -> None:
        if digest is not None and is_digest(digest):
            self._uses[digest].setdefault(use)

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
class FunctionCode:
    """The image a published Lambda version runs: fixed when the version is published."""

    # CodeSha256 and LastModified as ListFunctions lists the version. A function deleted and created
    # again under the same name numbers its versions from 1 again: the same name and number with
    # another fingerprint is another version, and is read again.
    fingerprint: str
    image_uri: str | None
    resolved_image_uri: str | None


# arn:<partition>:ecs:<region>:<account>:task-definition/<family>:<revision>: one revision, never
# changed once registered (a family name alone means its latest ACTIVE revision, which changes).
_REVISION_ARN = re.compile(r"arn:[\w-]+:ecs:[\w-]+:\d{12}:task-definition/[\w-]+:\d+")


class ImmutableFacts:
    """Answers of describe calls that can never change, remembered from earlier runs (the in-use
    cache) and learned in this one: which images a task definition revision names, and which image
    a published Lambda version runs. Whether a revision is still ACTIVE, which versions exist, and
    every mutable fact are read every run; these only spare describing the same object again."""

    def __init__(
        self,
        task_definitions: Mapping[str, tuple[str, ...]] | None = None,
        function_versions: Mapping[str, FunctionCode] | None = None,
    ) -> None:
        self._known_task_definitions = dict(task_definitions or {})
        self._known_function_versions = dict(function_versions or {})
        # What this run used or learned: what is written back. Entries of revisions and versions no
        # longer listed (deregistered, deleted) are not among them, and are dropped.
        self.task_definitions: dict[str, tuple[str, ...]] = {}
        self.function_versions: dict[str, FunctionCode] = {}
        # Set when the scan read every source: only then is "not used this run" the same as "gone".
        self.complete = False
        self.hits = 0

    @property
    def known_task_definitions(self) -> Mapping[str, tuple[str, ...]]:
        """What earlier runs learned (read from the cache, or kept by to_keep)."""
        return self._known_task_definitions

    @property
    def known_function_versions(self) -> Mapping[str, FunctionCode]:
        return self._known_function_versions

    def images_of(self, task_definition: str) -> tuple[str, ...] | None:
        """The images the revision names, if known; None: describe it."""
        if task_definition in self.task_definitions:
            return self.task_definitions[task_definition]
        known = self._known_task_definitions.get(task_definition)
        if known is not None:
            self.hits += 1
            self.task_definitions[task_definition] = known
        return known

    def learn_images(self, task_definition: str, images: tuple[str, ...]) -> None:
        self.task_definitions[task_definition] = images

    def code_of(self, version: str, fingerprint: str) -> FunctionCode | None:
        """The code of the published version `name:N` listed with `fingerprint`, if known."""
        known = self.function_versions.get(version) or self._known_function_versions.get(version)
        if known is None or known.fingerprint != fingerprint:
            return None
        if version not in self.function_versions:
            self.hits += 1
            self.function_versions[version] = known
        return known

    def learn_code(self, version: str, code: FunctionCode) -> None:
        self.function_versions[version] = code

    def to_keep(self) -> ImmutableFacts:
        """What to write back, as the known facts of the next run: what this run used or learned;
        and, when the scan stopped before reading every source, also what it did not reach
        (nothing then says it is gone)."""
        revisions = {arn: images for arn, images in self.task_definitions.items() if _REVISION_ARN.fullmatch(arn)}
        if self.complete:
            return ImmutableFacts(revisions, self.function_versions)
        return ImmutableFacts(
            {**self._known_task_definitions, **revisions},
            {**self._known_function_versions, **self.function_versions},
        )


@dataclass(frozen=True)
class ScanOptions:
    # EKS clusters whose workloads the operator accepts not to protect (context eksClustersIgnored).
    eks_ignored: frozenset[str] = frozenset()
    # Amazon Inspector's in-use data: "auto" (used when readable), "required", or "off".
    inspector: str = "auto"
    # A central registry's consumer accounts, read through a role assumed in each.
    consumers: Consumers = field(default_factory=Consumers)


@dataclass(frozen=True)
class _Account:
    """A consumer account, and the role the scan reads it through."""

    id: str
    role_arn: str


class _Source:
    """One service's client, with every failure turned into a InUseScanFailed that names the
    call (and the account, for a consumer account), the cause and the fix."""

    def __init__(
        self,
        service: str,
        client: Any,
        in_use: InUse,
        connect: Callable[..., Any] | None = None,
        options: ScanOptions = ScanOptions(),
        account: _Account | None = None,
        facts: ImmutableFacts | None = None,
        deadline: Deadline | None = None,
    ) -> None:
        self.service = service
        self.client = client
        self.in_use = in_use
        self.connect = connect
        self.options = options
        self.facts = facts if facts is not None else ImmutableFacts()
        self.deadline = deadline
        self.account = account

    def use(self, family: Protection, who: str) -> Use:
        return Use(family, self.who(who))

    def who(self, name: str) -> str:
        """A workload of this account as reasons name it; one of a consumer account names the account first."""
        return name if self.account is None else f"{self.account.id} {name}"

    def named(self, source: str) -> str:
        """What a failure calls this source ("ecs ListClusters", "account 210987654321 ecs ListClusters")."""
        return source if self.account is None else f"account {self.account.id} {source}"

    def call(self, operation: str, *, gone: Iterable[str] = (), **kwargs: Any) -> dict[str, Any] | None:
        """One call; None when it answers with one of the `gone` error codes (deleted meanwhile).
        Before each describe call, the scan stops if the invocation's time is running out."""
        if self.deadline is not None and not operation.startswith("list_") and not self.deadline.can_go_on_scanning():
            raise ScanOutOfTime(self.deadline.scan_margin_s, self.in_use.api_calls)
        self.in_use.api_calls += 1
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
                f"{self.service} console" + _way_out(self.account),
            )
        return response

    def pages(self, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
        """Every item of every page, through boto3's paginator."""
        pages = iter(self.client.get_paginator(operation).paginate(**kwargs))
        while True:
            try:
                page = next(pages, None)
            except (ClientError, BotoCoreError, OSError) as error:
                self.in_use.api_calls += 1
                raise self._failed(operation, error) from error
            if page is None:
                return
            self.in_use.api_calls += 1
            yield from page.get(key, [])

    def _name(self, operation: str) -> str:
        return self.named(f"{self.service} {_pascal(operation)}")

    def _failed(self, operation: str, error: BaseException) -> BaseException:
        if isinstance(error, EndpointConnectionError | ConnectTimeoutError) and not _offered(self.client):
            return _NotOffered(self.service)
        return InUseScanFailed(
            self._name(operation),
            describe_error(error),
            _fix(self.client, self.service, operation, error, self.account),
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
        code = _scan_lambda_code(source, function)
        if code is None:
            continue
        use = source.use(Protection.LAMBDA, function["FunctionArn"])
        source.in_use.add_reference(code.image_uri, use)
        # The digest the tag resolved to when the code was set: what a cold start pulls.
        source.in_use.add_reference(code.resolved_image_uri, use)


def _scan_lambda_code(source: _Source, function: Mapping[str, Any]) -> FunctionCode | None:
    """What a listed version runs: `$LATEST` is read every run (each code update changes it); a
    published version once, then from the facts of earlier runs. None: deleted since the listing."""
    name, version = function["FunctionName"], function["Version"]
    fingerprint = f"{function.get('CodeSha256')} {function.get('LastModified')}"
    published = version != "$LATEST" and bool(function.get("CodeSha256") and function.get("LastModified"))
    known = source.facts.code_of(f"{name}:{version}", fingerprint) if published else None
    if known is not None:
        return known
    # A version deleted between the listing and this call is simply gone.
    response = source.call("get_function", gone=("ResourceNotFoundException",), FunctionName=name, Qualifier=version)
    if response is None:
        return None
    code = response.get("Code", {})
    found = FunctionCode(fingerprint, code.get("ImageUri"), code.get("ResolvedImageUri"))
    if published:
        source.facts.learn_code(f"{name}:{version}", found)
    return found


def _scan_ecs(source: _Source) -> None:
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
        _scan_ecs_services(source, cluster, images_of)
        _scan_ecs_tasks(source, cluster)
    for arn in source.pages("list_task_definitions", "taskDefinitionArns", status="ACTIVE"):
        use = source.use(Protection.ECS, arn)
        for image in images_of(arn):
            source.in_use.add_reference(image, use)


def _scan_ecs_services(source: _Source, cluster: str, images_of: Callable[[str], tuple[str, ...]]) -> None:
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


def _scan_ecs_tasks(source: _Source, cluster: str) -> None:
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


def _scan_batch(source: _Source) -> None:
    for definition in source.pages("describe_job_definitions", "jobDefinitions", status="ACTIVE"):
        use = source.use(Protection.BATCH, definition["jobDefinitionArn"])
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
            source.in_use.add_reference(image.get("ImageIdentifier"), source.use(Protection.APP_RUNNER, arn))
        token = (page or {}).get("NextToken")
        if not token:
            return


def _scan_sagemaker(source: _Source) -> None:
    packages: dict[str, list[dict[str, Any]]] = {}
    for summary in source.pages("list_models", "Models"):
        model = source.call("describe_model", ModelName=summary["ModelName"])
        if model is None:
            continue
        use = source.use(Protection.SAGEMAKER, model.get("ModelArn") or summary["ModelArn"])
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
            source.in_use.ignored_clusters.append(source.who(cluster))
            continue
        described = (source.call("describe_cluster", name=cluster) or {}).get("cluster", {})
        api: KubernetesApi | None = None
        try:
            api = KubernetesApi(
                described["endpoint"],
                base64.b64decode(described["certificateAuthority"]["data"]),
                eks_token(source.connect("sts"), cluster),
            )
            for found in api.images():
                use = source.use(Protection.EKS, f"{cluster}/{found.namespace}/{found.kind}/{found.name}")
                source.in_use.add(reported_digest(found.reference), use)
                source.in_use.add_reference(found.reference, use)
        except Exception as error:  # any unread cluster may run any digest
            raise InUseScanFailed(
                source.named(f"eks cluster {cluster}"), _k8s_cause(error), _k8s_fix(cluster, error, source.account)
            ) from error
        finally:
            # The Kubernetes API's list calls are the scan's calls too.
            source.in_use.api_calls += api.calls if api is not None else 0


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
        cause = source.named(failed.cause) if source.account else failed.cause
        known = source.in_use.inspector_unavailable
        source.in_use.inspector_unavailable = f"{known}; {cause}" if known else cause


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


def scan(
    connect: Callable[..., Any],
    options: ScanOptions = ScanOptions(),
    assume: Callable[[str], Callable[..., Any]] | None = None,
    *,
    facts: ImmutableFacts | None = None,
    consumer_facts: Callable[[str], ImmutableFacts] | None = None,
    deadline: Deadline | None = None,
) -> InUse:
    """Read every source of the region that `connect(service)` builds clients for; then, for each
    consumer account of `options.consumers`, every source of the same region through the client
    factory that `assume(role_arn)` returns for the role assumed in that account.

    `facts`: what earlier runs learned that never changes about this account (the in-use cache);
    the scan describes only what it does not answer, and adds what it learns. `consumer_facts(account)`:
    the same for a consumer account, asked for once the account's role is assumed (None: each
    consumer account is described in full). Every one of them is marked complete only when the
    whole scan is. `deadline`: the scan fails closed (ScanOutOfTime) rather than run past the
    invocation's end."""
    in_use = InUse()
    facts = facts if facts is not None else ImmutableFacts()
    # This account's facts, then each consumer account's, in the order they were read.
    every = [facts]
    # One botocore session reads the SDK's endpoint data for the whole scan (a session per source
    # read endpoints.json again each time, about 0.05 s of CPU), and none is kept after it: a session
    # holds that data and every service model it read, about 10 MB.
    endpoint_data = functools.cache(botocore.session.get_session)
    try:
        _read_account(connect, in_use, options, None, facts, deadline, endpoint_data)
        consumers = options.consumers
        # Every run warns about each ignored account, a consumer or not.
        in_use.ignored_accounts = list(consumers.ignored)
        if consumers.enabled:
            if assume is None:
                raise ValueError("consumer accounts are configured, but the scan was given no way to assume their role")
            sts = connect("sts")
            for account in _consumer_accounts(sts, connect, in_use, consumers):
                # The partition of the region the clients call (aws, aws-cn, aws-us-gov), as botocore knows it.
                reader = _Account(account, consumers.role_arn(sts.meta.partition, account))
                # sts:AssumeRole is one of the scan's calls (InUseScanCalls), as the listing calls are.
                in_use.api_calls += 1
                try:
                    theirs = assume(reader.role_arn)
                except (ClientError, BotoCoreError, OSError) as error:
                    raise InUseScanFailed(
                        f"account {account} sts AssumeRole", describe_error(error), _assume_fix(reader, error)
                    ) from error
                every.append(consumer_facts(account) if consumer_facts is not None else ImmutableFacts())
                _read_account(theirs, in_use, options, reader, every[-1], deadline, endpoint_data)
                in_use.consumer_accounts.append(account)
    except InUseScanFailed as failed:
        failed.calls = in_use.api_calls
        raise
    finally:
        in_use.from_cache = sum(known.hits for known in every)
    for known in every:
        known.complete = True
    return in_use


def _read_account(
    connect: Callable[..., Any],
    in_use: InUse,
    options: ScanOptions,
    account: _Account | None,
    facts: ImmutableFacts,
    deadline: Deadline | None,
    endpoint_data: Callable[[], botocore.session.Session],
) -> None:
    """Every source of the region, in one account: the function's own (None) or a consumer's."""
    for service, read in SOURCES:
        client = connect(service)
        if not _offered(client, endpoint_data):
            # Not in the SDK's endpoint data: one quick attempt tells a new region from a missing service.
            client = connect(service, attempts=1)
        source = _Source(service, client, in_use, connect, options, account, facts, deadline)
        try:
            read(source)
        except _NotOffered as missing:
            if missing.service not in in_use.skipped:
                in_use.skipped.append(missing.service)
        except InUseScanFailed:
            raise
        except Exception as error:  # any gap in the picture makes deletion unsafe
            raise InUseScanFailed(source.named(service), describe_error(error), "report this as a bug") from error


def _consumer_accounts(sts: Any, connect: Callable[..., Any], in_use: InUse, consumers: Consumers) -> tuple[str, ...]:
    """The consumer accounts to read: the listed ones, or the organization's ACTIVE accounts
    (organizations:ListAccounts), less the function's own account and the ignored ones."""
    own = (_Source("sts", sts, in_use).call("get_caller_identity") or {})["Account"]
    if not consumers.organization:
        return consumers.to_read(own, consumers.accounts)
    organizations = _Source("organizations", connect("organizations"), in_use)
    return consumers.to_read(own, [a["Id"] for a in organizations.pages("list_accounts", "Accounts") if _active(a)])


def _active(account: Mapping[str, Any]) -> bool:
    """Account.State (ACTIVE, or PENDING_ACTIVATION, SUSPENDED, PENDING_CLOSURE, CLOSED), which
    replaces Account.Status; Status is retired on September 9, 2026 (Organizations API reference,
    Account)."""
    return (account.get("State") or account.get("Status")) == "ACTIVE"


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


def _fix(client: Any, service: str, operation: str, error: BaseException, account: _Account | None = None) -> str:
    action = f"{client.meta.service_model.signing_name}:{_pascal(operation)}"
    way_out = _way_out(account)
    if isinstance(error, EndpointConnectionError | ConnectTimeoutError):
        return (
            f"let the function reach {client.meta.endpoint_url} (from a VPC: an interface endpoint for "
            f"{service} or a NAT gateway){way_out}"
        )
    code = error_code(error)
    if code in NOT_ORGANIZATION_ADMIN and action == "organizations:ListAccounts":
        return (
            "run the sweeper in the organization's management account or in a delegated administrator account, "
            "where the function's role may call organizations:ListAccounts (the stack grants it with "
            "consumerAccounts=organization), or list the consumer accounts in context consumerAccounts instead"
        )
    if code in ACCESS_DENIED and account is not None:
        return (
            f"allow {action} to {account.role_arn} (the EcrSweeperReader stack grants it: deploy or update it in "
            f"account {account.id}; look for a permissions boundary or a service control policy that denies it)"
            f"{way_out}"
        )
    if code in ACCESS_DENIED:
        return (
            f"allow {action} to the function's role (the stack grants it; look for a permissions boundary "
            "or a service control policy that denies it)"
        )
    if code in THROTTLED:
        return (
            f"{action} was throttled after every retry; the next run reads it again, or raise its rate quota{way_out}"
        )
    return f"the next run reads it again; if this persists, check the service's health in the region{way_out}"


def _assume_fix(account: _Account, error: BaseException) -> str:
    if error_code(error) in ACCESS_DENIED:
        return (
            f"deploy the EcrSweeperReader stack in account {account.id} (docs: Central registries): it creates "
            f"{account.role_arn} and lets the function's role assume it; if the role exists, make its trust policy "
            f"allow the function's role, and allow sts:AssumeRole on it to the function's role (the sweeper stack "
            f"grants it for consumerAccounts){_way_out(account)}"
        )
    return f"the next run tries again; if this persists, check STS in the region{_way_out(account)}"


def _way_out(account: _Account | None) -> str:
    """How to stop reading a consumer account: what it runs is then not protected."""
    if account is None:
        return ""
    return (
        f", or accept not protecting what account {account.id} runs: context consumerAccountsIgnored=['{account.id}']"
    )


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


def _k8s_fix(cluster: str, error: BaseException, account: _Account | None = None) -> str:
    ignore = f"or accept not protecting its workloads with context eksClustersIgnored=[{cluster!r}]"
    if isinstance(error, KubernetesError) and error.status in (401, 403):
        if account is not None:
            return (
                f"give {account.role_arn} read access to {cluster} in account {account.id}: an EKS access entry for "
                f"it with AmazonEKSViewPolicy at cluster scope (docs: Central registries), {ignore}"
                f"{_way_out(account)}"
            )
        return (
            f"give the function's role read access to {cluster}: context eksClusters=[{cluster!r}] creates an "
            "access entry with AmazonEKSViewPolicy (a CONFIG_MAP cluster needs aws-auth lines instead; "
            "docs: EKS clusters), "
            f"{ignore}"
        )
    if isinstance(error, urllib3.exceptions.MaxRetryError | urllib3.exceptions.HTTPError):
        return (
            f"let the function reach {cluster}'s endpoint: for a private endpoint, context vpcSubnetIds and "
            f"vpcSecurityGroupIds put it in the cluster's VPC, {ignore}{_way_out(account)}"
        )
    return f"the next run reads it again; if this persists, check the cluster's health, {ignore}{_way_out(account)}"


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
