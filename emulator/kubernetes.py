"""A stand-in for an Amazon EKS cluster's Kubernetes API server: read-only lists of pods and workloads over
HTTPS, authenticated with the IAM token `aws eks get-token` makes. moto (5.2.5) emulates EKS's control-plane
API but no cluster behind it, so `serve_cluster()` points moto's DescribeCluster at this server.

Sources
- Tokens: awscli's `eks get-token` (awscli/customizations/eks/get_token.py: `k8s-aws-v1.` + unpadded
  base64url of an STS GetCallerIdentity URL presigned with GET, `ExpiresIn=60` and the header
  `x-k8s-aws-id: <cluster>` added before signing) and the server side that checks them,
  aws-iam-authenticator's `pkg/token/token.go` (`Verify`): at most 4 KiB; https; a known STS host; path `/`;
  only the nine whitelisted query parameters, each once; `Action=GetCallerIdentity`; `x-k8s-aws-id` in
  `X-Amz-SignedHeaders`; `X-Amz-Expires` 0..900; rejected 15 minutes after `X-Amz-Date`.
- Lists and paging: the Kubernetes API concepts page ("Retrieving large results sets in chunks",
  https://kubernetes.io/docs/reference/using-api/api-concepts/) and the API server's etcd3 store
  (k8s.io/apiserver/pkg/storage: `EncodeContinue`/`DecodeContinue`, and `GetList`, which answers a token
  it cannot decode with 400 BadRequest "invalid continue token: ..." and one whose revision was compacted
  with 410 Gone, reason `Expired`).
- Error bodies: `metav1.Status` as the API server writes them (k8s.io/apimachinery/pkg/api/errors), e.g.
  `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized",
  "reason":"Unauthorized","code":401}`.
- Object shapes: the core/v1, apps/v1 and batch/v1 API references (PodSpec, PodStatus/ContainerStatus,
  PodTemplateSpec, CronJobSpec.jobTemplate).
- DescribeCluster: the EKS API reference, Cluster: certificateAuthority.data is "The Base64-encoded certificate
  data required to communicate with your cluster" (base64 of the CA's PEM, as in a kubeconfig's
  `certificate-authority-data`); accessConfig.authenticationMode is one of the botocore model's
  AuthenticationMode values.

Public API
- `KubernetesAPI(*, ca=None, anonymous_auth=False, token_lifetime=15 min)`: the server. Use it as a context
  manager (or `start()`/`stop()`); then `endpoint` is `https://127.0.0.1:<port>` and `ca_pem` the PEM bytes of
  the CA that signed its certificate (give urllib3 `ca_cert_data=api.ca_pem.decode()`: bytes would be read as
  DER). `add(*objects)` stores objects, routed by their `kind` (same namespace and name: replaced);
  `delete(kind, namespace, name)`. `requests` records every request (`Request`: method, path, query,
  lower-cased headers, `auth_error`: why the token was refused, "" if it was not). `start()` after `stop()`
  serves the same endpoint again (a cluster coming back).
- Failure controls: `forbid(user=...)` (403 on everything), `fail(path, status, *, times=None)` (path None: every
  path), `recover()` (undo both), `compact()` (every continue token issued so far expires: 410), `stop()`.
  `unreachable_endpoint()`: an https endpoint on 127.0.0.1 nothing listens on.
- `pod(...)` and `workload(kind, ...)`: objects shaped as the API server returns them.
- `CertificateAuthority()`: a fresh test CA (`pem`, `issue_server(...)`); a second one is what a client
  verifying against the wrong CA trusts.
- `serve_cluster(api, name, ...)`: inside `mock_aws()`, creates (or takes over) EKS cluster `name` in moto, so
  that DescribeCluster answers the stand-in's endpoint, CA and authentication mode and ListClusters lists it.
  moto internals relied on: `moto.eks.models.eks_backends`, `EKSBackend.create_cluster` and `.clusters`, and the
  `Cluster` attributes `endpoint`, `certificate_authority` and `access_config` (moto's serializer reads a model
  member such as `accessConfig` from the snake_case attribute). Nothing is patched.

Choices, where the server cannot be copied or the sources leave it open
- Tokens are checked for form only: no call to STS, so the signature, the credentials and the cluster name in
  the signed `x-k8s-aws-id` header (which only STS sees) go unchecked. `X-Amz-Expires` must be at most 60, what
  awscli and aws-iam-authenticator send: stricter than today's authenticator, which accepts up to 900 (see
  MAX_PRESIGN_EXPIRES). Accepted hosts: `sts.amazonaws.com` and `sts.<region>.amazonaws.com` (partition `aws`
  only; the authenticator takes the partition's STS endpoints from the AWS SDK).
- Without a bearer token, a request answers 401 like one with a bad token. EKS clusters have historically
  run with anonymous authentication on, answering 403 for user `system:anonymous` instead
  (aws/containers-roadmap#532; aws-samples/hardeneks#2); `anonymous_auth=True` does that.
  A principal EKS cannot map to a user (no access entry, no aws-auth entry) gets 401, not 403:
  `fail(None, 401)`. A mapped principal without RBAC permission gets 403: `forbid()`.
- Read-only: GET on `/api/v1/pods`, `/apis/{apps,batch}/v1/<resource>` and their
  `/namespaces/<ns>/` forms. Other methods answer 405, other paths 404 ("the server could not find the requested
  resource"). `labelSelector`, `fieldSelector` and `watch` answer 400 rather than being ignored, so that nothing
  comes to rely on an answer the server would filter differently.
- Paging follows the etcd3 store: pages in key order (namespace, then name) from one snapshot, the revision of the
  first page, so objects added or deleted between pages do not show; `remainingItemCount` with every
  `continue`. Continue tokens have the API server's own form (unpadded base64url of
  `{"v":"meta.k8s.io/v1","rv":<revision>,"start":<key after the last item>}`). The 410 carries no inconsistent
  continue token in its metadata.
- Items in a list carry no `kind` or `apiVersion`, as the API server's JSON lists do; the helpers' objects have
  them, for routing.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import hashlib
import ipaddress
import json
import re
import socket
import ssl
import tempfile
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import botocore.session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from moto.eks.models import Cluster, eks_backends
from moto.utilities.utils import get_partition

from emulator.server import free_port

DEFAULT_ACCOUNT = "123456789012"
# The sweeper's role session (emulator/identity.py), as EKS names an assumed role's Kubernetes user.
DEFAULT_USER = f"arn:aws:sts::{DEFAULT_ACCOUNT}:assumed-role/ecr-sweeper-FunctionRole/ecr-sweeper"

TOKEN_PREFIX = "k8s-aws-v1."
CLUSTER_ID_HEADER = "x-k8s-aws-id"
MAX_TOKEN_BYTES = 4096
# awscli and aws-iam-authenticator both presign with 60 s, the most authenticators up to 0.3.0 accepted. Today's
# authenticator accepts 0..900 ("between 0 and 15 minutes", pkg/token/token.go), its documented maximum, because a
# presigned STS URL is valid 15 minutes after X-Amz-Date whatever X-Amz-Expires says. Anything above 60 means
# a client that is not building the token as awscli does.
MAX_PRESIGN_EXPIRES = 60
TOKEN_LIFETIME = timedelta(minutes=15)
_TOKEN_PARAMETERS = frozenset(
    {
        "action",
        "version",
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-expires",
        "x-amz-security-token",
        "x-amz-signature",
        "x-amz-signedheaders",
    }
)
_STS_HOST = re.compile(r"sts(\.[a-z]{2}(-[a-z]+)+-\d+)?\.amazonaws\.com")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_CREDENTIAL = re.compile(r"[^/]+/\d{8}/[a-z0-9-]+/sts/aws4_request")

AUTHENTICATION_MODES: tuple[str, ...] = tuple(
    botocore.session.get_session().get_service_model("eks").shape_for("AuthenticationMode").enum
)


@dataclass(frozen=True)
class Resource:
    """One list endpoint: `/api/v1/<plural>` for the core group, `/apis/<group>/<version>/<plural>` otherwise."""

    group: str
    version: str
    plural: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


RESOURCES: tuple[Resource, ...] = (
    Resource("", "v1", "pods", "Pod"),
    Resource("apps", "v1", "deployments", "Deployment"),
    Resource("apps", "v1", "statefulsets", "StatefulSet"),
    Resource("apps", "v1", "daemonsets", "DaemonSet"),
    Resource("apps", "v1", "replicasets", "ReplicaSet"),
    Resource("batch", "v1", "jobs", "Job"),
    Resource("batch", "v1", "cronjobs", "CronJob"),
)
_BY_KIND = {resource.kind: resource for resource in RESOURCES}
_BY_PATH = {(resource.group, resource.version, resource.plural): resource for resource in RESOURCES}
_PATH = re.compile(
    r"/(?:api/(?P<core>v1)|apis/(?P<group>[a-z0-9.-]+)/(?P<version>v[0-9a-z]+))"
    r"(?:/namespaces/(?P<namespace>[a-z0-9-]+))?/(?P<plural>[a-z]+)"
)

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    # The API server's Gone for lists is a compacted continue token or resourceVersion: StatusReasonExpired.
    410: "Expired",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
_VERBS = {"GET": "list", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "deletecollection"}
_EXPIRED_MESSAGE = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new list"
    " without the continue parameter, or use the continue token in this response to retrieve the remainder of the"
    " results. Continuing with the provided token results in an inconsistent list - objects that were created,"
    " modified, or deleted between the time the first chunk was returned and now may show up in the list."
)


# --- TLS -------------------------------------------------------------------------------------------------------


class CertificateAuthority:
    """A throwaway CA, EC P-256 so that each server start costs milliseconds, named as EKS names its cluster CAs."""

    def __init__(self, common_name: str = "kubernetes") -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = datetime.now(timezone.utc)
        public = self._key.public_key()
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            # Backdated a little: a client whose clock runs behind must not see a certificate from the future.
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self.pem: bytes = self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue_server(self, hosts: Sequence[str] = ("127.0.0.1", "localhost")) -> tuple[bytes, bytes]:
        """A server certificate for `hosts` (IP addresses become IP SANs) and its key, both PEM."""
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        now = datetime.now(timezone.utc)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            # Strict X.509 checking (Python 3.13's default context) wants the authority key identifier.
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def _key_usage(*, cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=not cert_sign,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _server_context(ca: CertificateAuthority) -> ssl.SSLContext:
    certificate, key = ca.issue_server()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # load_cert_chain reads files only; the key lives on disk just long enough to be loaded.
    with tempfile.TemporaryDirectory() as directory:
        chain, private = Path(directory, "server.crt"), Path(directory, "server.key")
        chain.write_bytes(certificate)
        private.write_bytes(key)
        context.load_cert_chain(chain, private)
    return context


def unreachable_endpoint() -> str:
    """An https endpoint on 127.0.0.1 that nothing listens on: connecting is refused."""
    return f"https://127.0.0.1:{free_port()}"


# --- Tokens ----------------------------------------------------------------------------------------------------


def token_error(authorization: str | None, *, now: datetime | None = None, lifetime: timedelta = TOKEN_LIFETIME) -> str:
    """Why an `Authorization` header is no EKS token ("" if it is one), checked as aws-iam-authenticator does
    before it asks STS."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return "no bearer token"
    if len(token) > MAX_TOKEN_BYTES:
        return "token is too large"
    if not token.startswith(TOKEN_PREFIX):
        return f"token is missing expected {TOKEN_PREFIX!r} prefix"
    encoded = token.removeprefix(TOKEN_PREFIX)
    # Go's RawURLEncoding: URL alphabet, no padding. Python's urlsafe_b64decode would skip stray characters.
    if not _BASE64URL.fullmatch(encoded) or len(encoded) % 4 == 1:
        return "token is not unpadded base64url"
    try:
        url = base64.b64decode(encoded.translate(str.maketrans("-_", "+/")) + "=" * (-len(encoded) % 4)).decode()
        parts = urlsplit(url)
        host = parts.hostname
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return "token is not a URL"
    if parts.scheme != "https":
        return f"unexpected scheme {parts.scheme!r} in pre-signed URL"
    if host is None or parts.port is not None or not _STS_HOST.fullmatch(host):
        return f"unexpected hostname {parts.netloc!r} in pre-signed URL"
    if parts.path != "/":
        return "unexpected path in pre-signed URL"
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return "malformed query parameter"
    query: dict[str, str] = {}
    for key, value in pairs:
        if key.lower() not in _TOKEN_PARAMETERS:
            return f"non-whitelisted query parameter {key!r}"
        if key.lower() in query:
            return "query parameter with multiple values not supported"
        query[key.lower()] = value
    expected = {"action": "GetCallerIdentity", "version": "2011-06-15", "x-amz-algorithm": "AWS4-HMAC-SHA256"}
    for key, value in expected.items():
        if query.get(key) != value:
            return f"unexpected {key} parameter in pre-signed URL: {query.get(key)!r}"
    if not _CREDENTIAL.fullmatch(query.get("x-amz-credential", "")):
        return "malformed X-Amz-Credential parameter in pre-signed URL"
    if not re.fullmatch(r"[0-9a-f]{64}", query.get("x-amz-signature", "")):
        return "malformed X-Amz-Signature parameter in pre-signed URL"
    signed = {header.lower() for header in query.get("x-amz-signedheaders", "").split(";")}
    if not {"host", CLUSTER_ID_HEADER} <= signed:
        return f"client did not sign the host and {CLUSTER_ID_HEADER} headers in the pre-signed URL"
    expires = query.get("x-amz-expires", "")
    if not expires.isdigit() or int(expires) > MAX_PRESIGN_EXPIRES:
        return f"invalid X-Amz-Expires parameter in pre-signed URL: {expires!r}"
    try:
        signed_at = datetime.strptime(query.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return "X-Amz-Date parameter must be present in pre-signed URL"
    if (now or datetime.now(timezone.utc)) > signed_at + lifetime:
        return f"X-Amz-Date parameter is expired ({lifetime.total_seconds() / 60:.0f} minute expiration)"
    return ""


# --- Objects ---------------------------------------------------------------------------------------------------


def _uid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def _pull_policy(image: str) -> str:
    """The API server's default: Always for `:latest` or no tag, IfNotPresent otherwise (digests included)."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    return "IfNotPresent" if ":" in last and not last.endswith(":latest") else "Always"


def _containers(pairs: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "image": image,
            "imagePullPolicy": _pull_policy(image),
            "resources": {},
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
        }
        for name, image in pairs
    ]


def _statuses(
    where: str,
    pod_key: str,
    containers: Sequence[tuple[str, str]],
    statuses: Sequence[tuple[str, str, str]],
    started: str,
    *,
    init: bool = False,
) -> list[dict[str, Any]]:
    declared = {name for name, _ in containers}
    result = []
    for name, image, image_id in statuses:
        if name not in declared:
            raise ValueError(f"{where} status for {name!r}, which the pod does not declare")
        status: dict[str, Any] = {"name": name, "image": image, "imageID": image_id, "restartCount": 0}
        if not image_id:
            # Not pulled yet: the kubelet reports the spec's image and an empty imageID.
            status.update(ready=False, started=False, state={"waiting": {"reason": "ContainerCreating"}})
        else:
            status["containerID"] = "containerd://" + hashlib.sha256(f"{pod_key}/{name}".encode()).hexdigest()
            if init:
                terminated = {"exitCode": 0, "reason": "Completed", "startedAt": started, "finishedAt": started}
                status.update(ready=True, started=False, state={"terminated": terminated})
            else:
                status.update(ready=True, started=True, state={"running": {"startedAt": started}})
        result.append(status)
    return result


def pod(
    namespace: str,
    name: str,
    containers: Sequence[tuple[str, str]],
    statuses: Sequence[tuple[str, str, str]] | None = None,
    *,
    init_containers: Sequence[tuple[str, str]] = (),
    init_statuses: Sequence[tuple[str, str, str]] | None = None,
    ephemeral_containers: Sequence[tuple[str, str]] = (),
    ephemeral_statuses: Sequence[tuple[str, str, str]] | None = None,
    node_name: str = "ip-10-0-1-23.ec2.internal",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Pod as the API server reports it. `containers`: (name, image) as in the spec; `statuses`:
    (name, image, imageID) as the kubelet reports them (None: none yet, as for a pod not yet scheduled).

    With containerd (every supported EKS AMI), `imageID` is `<registry>/<repository>@sha256:<hex>`, the digest of
    what was pulled: for a multi-platform image, the image index's digest. `image` is the spec's reference as
    containerd names it (Docker Hub references fully qualified, e.g. `docker.io/library/nginx:1.27`). An empty
    `imageID` makes a container still waiting for its image. The helper passes all three through as given.
    """
    if not containers:
        raise ValueError("a pod has at least one container")
    key = f"{namespace}/{name}"
    started = "2025-01-01T00:00:00Z"
    spec: dict[str, Any] = {
        "containers": _containers(containers),
        "restartPolicy": "Always",
        "serviceAccountName": "default",
        "nodeName": node_name,
    }
    if init_containers:
        spec["initContainers"] = _containers(init_containers)
    if ephemeral_containers:
        spec["ephemeralContainers"] = [
            {"name": container, "image": image, "imagePullPolicy": _pull_policy(image)}
            for container, image in ephemeral_containers
        ]
    status: dict[str, Any] = {"phase": "Pending", "qosClass": "BestEffort"}
    if statuses is not None:
        status["containerStatuses"] = _statuses("container", key, containers, statuses, started)
        if statuses and all(image_id for _, _, image_id in statuses):
            status.update(phase="Running", startTime=started)
    if init_statuses is not None:
        status["initContainerStatuses"] = _statuses(
            "init container", key, init_containers, init_statuses, started, init=True
        )
    if ephemeral_statuses is not None:
        status["ephemeralContainerStatuses"] = _statuses(
            "ephemeral container", key, ephemeral_containers, ephemeral_statuses, started
        )
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": _uid("pods", key),
            "creationTimestamp": started,
            "labels": dict(labels or {}),
        },
        "spec": spec,
        "status": status,
    }


def _container_names(images: Sequence[str], taken: set[str]) -> list[tuple[str, str]]:
    """Container names from the images' repository names, as a chart would pick them; unique within the pod."""
    pairs = []
    for image in images:
        repository = image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]
        base = re.sub(r"[^a-z0-9-]+", "-", repository.lower()).strip("-")[:50] or "container"
        name, number = base, 1
        while name in taken:
            number += 1
            name = f"{base}-{number}"
        taken.add(name)
        pairs.append((name, image))
    return pairs


_REPLICATED = frozenset({"Deployment", "StatefulSet", "ReplicaSet"})


def workload(
    kind: str,
    namespace: str,
    name: str,
    images: Sequence[str],
    init_images: Sequence[str] = (),
    replicas: int | None = None,
) -> dict[str, Any]:
    """A Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob running `images`.

    The pod template is `spec.template` for all but CronJob, whose is `spec.jobTemplate.spec.template`; its
    `spec.containers[].image` and `spec.initContainers[].image` hold the images. `replicas` (Deployment,
    StatefulSet, ReplicaSet only) defaults to 1, as the API server defaults it; 0 is a workload scaled down.
    """
    resource = _BY_KIND.get(kind)
    if resource is None or kind == "Pod":
        raise ValueError(f"not a workload kind: {kind!r}")
    if replicas is not None and kind not in _REPLICATED:
        raise ValueError(f"a {kind} has no replicas")
    if not images:
        raise ValueError("a pod template has at least one container")
    labels = {"app.kubernetes.io/name": name}
    taken: set[str] = set()
    pod_spec: dict[str, Any] = {
        "containers": _containers(_container_names(images, taken)),
        "restartPolicy": "Never" if kind in ("Job", "CronJob") else "Always",
    }
    if init_images:
        pod_spec["initContainers"] = _containers(_container_names(init_images, taken))
    template = {"metadata": {"labels": labels}, "spec": pod_spec}
    count = 1 if replicas is None else replicas
    spec: dict[str, Any]
    status: dict[str, Any] = {}
    if kind == "CronJob":
        spec = {
            "schedule": "*/5 * * * *",
            "concurrencyPolicy": "Allow",
            "suspend": False,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 1,
            "jobTemplate": {"metadata": {}, "spec": {"backoffLimit": 6, "template": template}},
        }
    elif kind == "Job":
        spec = {"backoffLimit": 6, "completions": 1, "parallelism": 1, "template": template}
    else:
        spec = {"selector": {"matchLabels": labels}, "template": template}
        if kind in _REPLICATED:
            spec["replicas"] = count
            status = {"replicas": count, "readyReplicas": count} if count else {"replicas": 0}
        if kind == "Deployment":
            spec.update(revisionHistoryLimit=10, strategy={"type": "RollingUpdate"})
        elif kind == "StatefulSet":
            spec.update(serviceName=name, podManagementPolicy="OrderedReady")
    return {
        "kind": kind,
        "apiVersion": resource.api_version,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": _uid(resource.plural, namespace, name),
            "generation": 1,
            "creationTimestamp": "2025-01-01T00:00:00Z",
            "labels": dict(labels),
        },
        "spec": spec,
        "status": status,
    }


# --- Server ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One request as received: `query` as parse_qs gives it, header names lower-cased."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    # Why the token was refused ("" if accepted): the 401 body says only "Unauthorized", as the API server's does.
    auth_error: str


@dataclass
class _Version:
    """One object as stored at one revision, alive from `created` until `deleted` (etcd's MVCC, in small)."""

    key: str
    obj: dict[str, Any]
    created: int
    deleted: int | None = None

    def alive_at(self, revision: int) -> bool:
        return self.created <= revision and (self.deleted is None or self.deleted > revision)


@dataclass
class _Failure:
    path: str | None
    status: int
    times: int | None


@dataclass
class _Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class _Problem(Exception):
    def __init__(self, status: int, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.answer = _status(status, message, details)


def _status(code: int, message: str, details: dict[str, Any] | None = None) -> _Answer:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": _REASONS.get(code, ""),
        "code": code,
    }
    if details is not None:
        body["details"] = details
    headers: dict[str, str] = {}
    if code == 429:
        # The API server's priority-and-fairness rejection: a Retry-After header and its twin in details.
        body["details"] = {**(details or {}), "retryAfterSeconds": 1}
        headers["Retry-After"] = "1"
    return _Answer(code, body, headers)


def _encode_continue(revision: int, start: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[int, str]:
    """The revision and start key of a continue token, or the API server's 400 for one it cannot decode."""
    try:
        if not _BASE64URL.fullmatch(token):
            raise ValueError("illegal base64 data")
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(data, dict):
            raise ValueError("not an object")
    except (ValueError, binascii.Error) as error:
        raise _Problem(400, f"invalid continue token: continue key is not valid: {error}") from None
    version, revision, start = data.get("v"), data.get("rv"), data.get("start")
    if version != "meta.k8s.io/v1":
        raise _Problem(
            400, "invalid continue token: continue key is not valid: server does not recognize this encoded version"
        )
    if not isinstance(revision, int) or revision == 0:
        raise _Problem(
            400,
            "invalid continue token: continue key is not valid: incorrect encoded start resourceVersion"
            " (version meta.k8s.io/v1)",
        )
    if not isinstance(start, str) or not start:
        raise _Problem(
            400, "invalid continue token: continue key is not valid: encoded start key empty (version meta.k8s.io/v1)"
        )
    if ".." in start.split("/") or start.startswith("/"):
        raise _Problem(400, "invalid continue token: continue key is not valid: path traversal attempt detected")
    return revision, start


class KubernetesAPI:
    """A cluster's Kubernetes API server on https://127.0.0.1:<free port>, serving stored objects read-only."""

    def __init__(
        self,
        *,
        ca: CertificateAuthority | None = None,
        anonymous_auth: bool = False,
        token_lifetime: timedelta = TOKEN_LIFETIME,
    ) -> None:
        self.ca = ca or CertificateAuthority()
        self.ca_pem: bytes = self.ca.pem
        self.anonymous_auth = anonymous_auth
        self.token_lifetime = token_lifetime
        self.requests: list[Request] = []
        self._lock = threading.RLock()
        self._store: dict[str, list[_Version]] = {resource.plural: [] for resource in RESOURCES}
        # etcd starts at revision 1; every write makes a new one, and lists report the one they read.
        self._revision = 1
        self._compacted = 0
        self._forbidden_user: str | None = None
        self._failures: list[_Failure] = []
        self._server: _TLSServer | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    # Lifecycle

    def start(self) -> KubernetesAPI:
        if self._server is not None:
            return self
        # The same port again after stop(): the endpoint moto describes stays right.
        self._server = _TLSServer(("127.0.0.1", self._port or 0), _Handler, api=self, context=_server_context(self.ca))
        self._port = int(self._server.server_address[1])
        # shutdown() waits for the loop's next poll; the default 0.5 s would make every test's teardown slow.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name="kubernetes-api", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and drop open connections: the endpoint refuses connections from now on."""
        server, thread, self._server, self._thread = self._server, self._thread, None, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.drop_connections()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> KubernetesAPI:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        """`https://127.0.0.1:<port>`, as EKS reports an endpoint: no trailing slash. Still the same after stop()."""
        if self._port is None:
            raise RuntimeError("the Kubernetes API stand-in has not been started")
        return f"https://127.0.0.1:{self._port}"

    # Objects

    def add(self, *objects: dict[str, Any]) -> None:
        """Store objects (a copy of each), routed by `kind`; one with the same namespace and name is replaced."""
        for obj in objects:
            resource = _BY_KIND.get(obj.get("kind", ""))
            if resource is None:
                raise ValueError(f"the stand-in serves no kind {obj.get('kind')!r}")
            if obj.get("apiVersion") != resource.api_version:
                raise ValueError(
                    f"a {resource.kind} has apiVersion {resource.api_version}, not {obj.get('apiVersion')}"
                )
            metadata = obj.get("metadata") or {}
            namespace, name = metadata.get("namespace"), metadata.get("name")
            if not namespace or not name:
                raise ValueError("objects here are namespaced: metadata.namespace and metadata.name are required")
            stored = copy.deepcopy(obj)
            with self._lock:
                self._revision += 1
                self._end(resource.plural, f"{namespace}/{name}")
                stored["metadata"]["resourceVersion"] = str(self._revision)
                stored["metadata"].setdefault("uid", _uid(resource.plural, namespace, name))
                self._store[resource.plural].append(_Version(f"{namespace}/{name}", stored, self._revision))

    def delete(self, kind: str, namespace: str, name: str) -> None:
        resource = _BY_KIND[kind]
        with self._lock:
            self._revision += 1
            if not self._end(resource.plural, f"{namespace}/{name}"):
                raise KeyError(f"{kind} {namespace}/{name}")

    def _end(self, plural: str, key: str) -> bool:
        ended = False
        for version in self._store[plural]:
            if version.key == key and version.deleted is None:
                version.deleted = self._revision
                ended = True
        return ended

    # Failure controls

    def forbid(self, user: str = DEFAULT_USER) -> None:
        """Answer 403 to every authenticated request: `user` is mapped but has no RBAC permission."""
        with self._lock:
            self._forbidden_user = user

    def fail(self, path: str | None, status: int, *, times: int | None = None) -> None:
        """Answer `status` (a Status body) to authenticated requests for `path` (None: any), `times` times."""
        with self._lock:
            self._failures.append(_Failure(path, status, times))

    def recover(self) -> None:
        """Undo forbid() and fail()."""
        with self._lock:
            self._forbidden_user = None
            self._failures.clear()

    def compact(self) -> None:
        """Expire every continue token issued so far, as etcd's compaction does once the cluster has moved on
        (the API server compacts every 5 minutes, and a live cluster writes leases and events all the time)."""
        with self._lock:
            self._revision += 1
            self._compacted = self._revision
            for plural, versions in self._store.items():
                self._store[plural] = [v for v in versions if v.deleted is None or v.deleted > self._compacted]

    # Serving

    def _answer(self, method: str, target: str, headers: dict[str, str]) -> _Answer:
        """The answer to one request: authentication, then authorization, then the handler, as the API server's
        filter chain orders them."""
        parts = urlsplit(target)
        query = parse_qs(parts.query, keep_blank_values=True)
        error = token_error(headers.get("authorization"), lifetime=self.token_lifetime)
        with self._lock:
            self.requests.append(Request(method, parts.path, query, dict(headers), error))
        match = _PATH.fullmatch(parts.path)
        resource = None
        if match is not None:
            group, version = ("", "v1") if match["core"] else (match["group"], match["version"])
            resource = _BY_PATH.get((group, version, match["plural"]))
        namespace = match["namespace"] if match is not None else None
        try:
            user = self._authenticate(error)
            self._authorize(user, method, parts.path, resource, namespace)
            self._injected(parts.path)
            if resource is None:
                raise _Problem(404, "the server could not find the requested resource", {})
            if method != "GET":
                raise _Problem(405, f"the server does not allow this method on the requested resource ({method})", {})
            return _Answer(200, self._list(resource, namespace, query))
        except _Problem as problem:
            return problem.answer

    def _authenticate(self, error: str) -> str:
        if not error:
            return DEFAULT_USER
        if error == "no bearer token" and self.anonymous_auth:
            return "system:anonymous"
        raise _Problem(401, "Unauthorized")

    def _authorize(self, user: str, method: str, path: str, resource: Resource | None, namespace: str | None) -> None:
        with self._lock:
            if self._forbidden_user is not None and user != "system:anonymous":
                user = self._forbidden_user
            elif user != "system:anonymous":
                return
        verb = _VERBS.get(method, method.lower())
        if resource is None:
            raise _Problem(403, f'forbidden: User "{user}" cannot {verb} path "{path}"', {})
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        qualified = f"{resource.plural}.{resource.group}" if resource.group else resource.plural
        details = {"group": resource.group, "kind": resource.plural} if resource.group else {"kind": resource.plural}
        raise _Problem(
            403,
            f'{qualified} is forbidden: User "{user}" cannot {verb} resource "{resource.plural}"'
            f' in API group "{resource.group}" {scope}',
            details,
        )

    def _injected(self, path: str) -> None:
        with self._lock:
            for failure in self._failures:
                if failure.path not in (None, path) or failure.times == 0:
                    continue
                if failure.times is not None:
                    failure.times -= 1
                message = "Unauthorized" if failure.status == 401 else f"injected by the test stand-in ({path})"
                raise _Problem(failure.status, message)

    def _list(self, resource: Resource, namespace: str | None, query: dict[str, list[str]]) -> dict[str, Any]:
        for unsupported in ("labelSelector", "fieldSelector", "watch"):
            if query.get(unsupported, [""])[0]:
                raise _Problem(400, f"the Kubernetes API stand-in does not implement {unsupported}")
        limit_text = query.get("limit", [""])[0]
        try:
            limit = int(limit_text) if limit_text else 0
        except ValueError:
            raise _Problem(400, f'strconv.ParseInt: parsing "{limit_text}": invalid syntax') from None
        token = query.get("continue", [""])[0]
        prefix = f"{namespace}/" if namespace else ""
        with self._lock:
            if token:
                if query.get("resourceVersion", [""])[0] not in ("", "0"):
                    raise _Problem(400, "specifying resource version is not allowed when using continue")
                revision, start = _decode_continue(token)
                if revision < self._compacted:
                    raise _Problem(410, _EXPIRED_MESSAGE)
            else:
                revision, start = self._revision, ""
            versions = sorted(
                (
                    v
                    for v in self._store[resource.plural]
                    if v.alive_at(revision) and v.key.startswith(prefix) and v.key[len(prefix) :] >= start
                ),
                key=lambda v: v.key,
            )
            page = versions[:limit] if limit > 0 else versions
            rest = len(versions) - len(page)
            items = [
                {k: v for k, v in copy.deepcopy(version.obj).items() if k not in ("kind", "apiVersion")}
                for version in page
            ]
        metadata: dict[str, Any] = {"resourceVersion": str(revision)}
        if rest:
            metadata["continue"] = _encode_continue(revision, page[-1].key[len(prefix) :] + "\x00")
            metadata["remainingItemCount"] = rest
        return {
            "kind": f"{resource.kind}List",
            "apiVersion": resource.api_version,
            "metadata": metadata,
            "items": items,
        }


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        *,
        api: KubernetesAPI,
        context: ssl.SSLContext,
    ) -> None:
        self.api = api
        self.context = context
        self._open: set[ssl.SSLSocket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake happens here, in the connection's own thread, so that a client that stalls or
        # rejects the certificate holds up no other connection.
        request.settimeout(10)
        try:
            connection = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        with self._open_lock:
            self._open.add(connection)
        try:
            self.RequestHandlerClass(connection, client_address, self)  # type: ignore[arg-type]
        except (ssl.SSLError, OSError):
            pass
        finally:
            with self._open_lock:
                self._open.discard(connection)
            connection.close()

    def drop_connections(self) -> None:
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client that hangs up or fails the handshake is what failure tests do on purpose."""


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive, as the API server: a client reuses its connection across pages.
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle on, each answer would wait out the client's delayed ACK.
    disable_nagle_algorithm = True
    server: _TLSServer

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        answer = self.server.api._answer(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
        body = json.dumps(answer.body).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests read `KubernetesAPI.requests` instead."""


# --- EKS -------------------------------------------------------------------------------------------------------


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
