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

Modules, by job (every public name is importable from `emulator.kubernetes`)
- `tls`: the test CA, the server certificate and context, `unreachable_endpoint()`.
- `tokens`: EKS bearer tokens checked for form (`token_error`), and the user an accepted token stands for.
- `store`: the stored objects by resource, at revisions (add, replace, delete, compact).
- `objects`: `pod(...)` and `workload(...)`, shaped as the API server returns them.
- `paging`: a list request answered with one page, and its continue tokens.
- `status`: the `metav1.Status` error answers.
- `server`: `KubernetesAPI`, the HTTPS server and its failure controls.
- `eks`: `serve_cluster(...)`, moto's EKS cluster pointed at the stand-in.
"""

from __future__ import annotations

from emulator.kubernetes.eks import AUTHENTICATION_MODES, serve_cluster
from emulator.kubernetes.objects import pod, workload
from emulator.kubernetes.server import KubernetesAPI, Request
from emulator.kubernetes.store import RESOURCES, Resource
from emulator.kubernetes.tls import CertificateAuthority, unreachable_endpoint
from emulator.kubernetes.tokens import (
    CLUSTER_ID_HEADER,
    DEFAULT_ACCOUNT,
    DEFAULT_USER,
    MAX_PRESIGN_EXPIRES,
    MAX_TOKEN_BYTES,
    TOKEN_LIFETIME,
    TOKEN_PREFIX,
    token_error,
)

__all__ = [
    "AUTHENTICATION_MODES",
    "CLUSTER_ID_HEADER",
    "DEFAULT_ACCOUNT",
    "DEFAULT_USER",
    "MAX_PRESIGN_EXPIRES",
    "MAX_TOKEN_BYTES",
    "RESOURCES",
    "TOKEN_LIFETIME",
    "TOKEN_PREFIX",
    "CertificateAuthority",
    "KubernetesAPI",
    "Request",
    "Resource",
    "pod",
    "serve_cluster",
    "token_error",
    "unreachable_endpoint",
    "workload",
]
