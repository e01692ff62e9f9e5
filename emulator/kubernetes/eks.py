"""An EKS cluster in moto that describes the Kubernetes API stand-in as its API server. moto (5.2.5) emulates
EKS's control-plane API but no cluster behind it.

DescribeCluster, as the EKS API reference's Cluster describes it: certificateAuthority.data is "The Base64-encoded
certificate data required to communicate with your cluster" (base64 of the CA's PEM, as in a kubeconfig's
`certificate-authority-data`); accessConfig.authenticationMode is one of the botocore model's AuthenticationMode
values. moto internals relied on: `moto.eks.models.eks_backends`, `EKSBackend.create_cluster` and `.clusters`, and
the `Cluster` attributes `endpoint`, `certificate_authority` and `access_config` (moto's serializer reads a model
member such as `accessConfig` from the snake_case attribute). Nothing is patched.
"""

from __future__ import annotations

import base64

import botocore.session
from moto.eks.models import Cluster, eks_backends
from moto.utilities.utils import get_partition

from emulator.kubernetes.server import KubernetesAPI
from emulator.kubernetes.tokens import DEFAULT_ACCOUNT

AUTHENTICATION_MODES: tuple[str, ...] = tuple(
    botocore.session.get_session().get_service_model("eks").shape_for("AuthenticationMode").enum
)


def serve_cluster(
    api: KubernetesAPI,
    name: str,
    *,
    region: str = "us-east-1",
    account: str = DEFAULT_ACCOUNT,
    authentication_mode: str = "API_AND_CONFIG_MAP",
) -> Cluster:
    """Make moto's EKS cluster `name` (created if absent) describe `api` as its Kubernetes API.

    Call it inside `mock_aws()`, which empties moto's backends when it starts. DescribeCluster then answers
    `endpoint` = `api.endpoint`, `certificateAuthority.data` = base64 of `api.ca_pem`, and
    `accessConfig.authenticationMode`; ListClusters lists the cluster. Calling it again re-points the cluster.
    """
    if authentication_mode not in AUTHENTICATION_MODES:
        raise ValueError(f"authenticationMode must be one of {AUTHENTICATION_MODES}")
    backend = eks_backends[account][region]
    cluster = backend.clusters.get(name)
    if cluster is None:
        cluster = backend.create_cluster(
            name=name,
            role_arn=f"arn:{get_partition(region)}:iam::{account}:role/eks-cluster-role",
            resources_vpc_config={
                "subnetIds": [],
                "securityGroupIds": [],
                "endpointPublicAccess": True,
                "endpointPrivateAccess": False,
                "publicAccessCidrs": ["0.0.0.0/0"],
            },
        )
    cluster.endpoint = api.endpoint
    cluster.certificate_authority = {"data": base64.b64encode(api.ca_pem).decode()}
    # moto's Cluster has no accessConfig; its serializer reads the member from this attribute.
    cluster.access_config = {"bootstrapClusterCreatorAdminPermissions": True, "authenticationMode": authentication_mode}  # type: ignore[attr-defined]
    return cluster
