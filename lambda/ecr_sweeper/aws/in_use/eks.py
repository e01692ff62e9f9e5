"""EKS: every cluster's pods (their resolved digests) and workload templates, through its
Kubernetes API, with the bearer token `aws eks get-token` makes."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import urllib3

from ecr_sweeper.aws.in_use.calls import Source, way_out
from ecr_sweeper.aws.in_use.values import Account, InUse, InUseScanFailed
from ecr_sweeper.aws.kubernetes import KubernetesApi, KubernetesError
from ecr_sweeper.core.errors import describe_error
from ecr_sweeper.core.model import Protection
from ecr_sweeper.core.references import reported_digest

if TYPE_CHECKING:
    from mypy_boto3_eks import EKSClient
    from mypy_boto3_sts import STSClient

# What `aws eks get-token` sends (awscli customizations/eks/get_token.py): a presigned
# sts:GetCallerIdentity URL with the cluster's name in the signed x-k8s-aws-id header.
TOKEN_PREFIX = "k8s-aws-v1."
CLUSTER_ID_HEADER = "x-k8s-aws-id"
TOKEN_EXPIRES_S = 60


def eks_token(sts: STSClient, cluster: str) -> str:
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


def scan_eks(source: Source[EKSClient]) -> None:
    """Every cluster's pods (their resolved digests) and workload templates, through its Kubernetes
    API; the clusters read at once, each into a part of its own."""
    assert source.connect is not None
    clusters = list(source.pages("list_clusters", "clusters"))
    source.in_use.ignored_clusters += [source.who(c) for c in clusters if c in source.options.eks_ignored]
    for found in source.each(
        [c for c in clusters if c not in source.options.eks_ignored], lambda c: _cluster(source, c)
    ):
        source.in_use.merge(found)


def _cluster(source: Source[EKSClient], cluster: str) -> InUse:
    assert source.connect is not None
    found = InUse()
    described = (source.call("describe_cluster", name=cluster) or {}).get("cluster", {})
    api: KubernetesApi | None = None
    try:
        api = KubernetesApi(
            described["endpoint"],
            base64.b64decode(described["certificateAuthority"]["data"]),
            eks_token(source.connect("sts"), cluster),
        )
        for image in api.images():
            use = source.use(Protection.EKS, f"{cluster}/{image.namespace}/{image.kind}/{image.name}")
            found.add(reported_digest(image.reference), use)
            found.add_reference(image.reference, use)
    except Exception as error:  # any unread cluster may run any digest
        raise InUseScanFailed(
            source.named(f"eks cluster {cluster}"), _k8s_cause(error), _k8s_fix(cluster, error, source.account)
        ) from error
    finally:
        # The Kubernetes API's list calls are the scan's calls too.
        source.run.calls.add_many(api.calls if api is not None else 0)
    return found


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


def _k8s_fix(cluster: str, error: BaseException, account: Account | None = None) -> str:
    ignore = f"or accept not protecting its workloads with context eksClustersIgnored=[{cluster!r}]"
    if isinstance(error, KubernetesError) and error.status in (401, 403):
        if account is not None:
            return (
                f"give {account.role_arn} read access to {cluster} in account {account.id}: an EKS access entry for "
                f"it with AmazonEKSViewPolicy at cluster scope (docs: Central registries), {ignore}"
                f"{way_out(account)}"
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
            f"vpcSecurityGroupIds put it in the cluster's VPC, {ignore}{way_out(account)}"
        )
    return f"the next run reads it again; if this persists, check the cluster's health, {ignore}{way_out(account)}"
