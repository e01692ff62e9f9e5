"""Read an EKS cluster's Kubernetes API: pods and the pod templates of workloads (HTTPS calls only;
the in-use scan, in_use.py, brings the endpoint, the CA and the token).

Plain HTTPS through urllib3 (already bundled with botocore) instead of the official client: the
sweeper needs seven list calls with paging, a bearer token and TLS verified against the cluster's
CA, and the official client would add a large dependency tree to the function.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import urllib3

PAGE_LIMIT = 500

# Kind -> list path (all namespaces) and where the pod spec sits in an item.
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Pod": ("/api/v1/pods", ("spec",)),
    "Deployment": ("/apis/apps/v1/deployments", ("spec", "template", "spec")),
    "StatefulSet": ("/apis/apps/v1/statefulsets", ("spec", "template", "spec")),
    "DaemonSet": ("/apis/apps/v1/daemonsets", ("spec", "template", "spec")),
    "ReplicaSet": ("/apis/apps/v1/replicasets", ("spec", "template", "spec")),
    "Job": ("/apis/batch/v1/jobs", ("spec", "template", "spec")),
    # A CronJob that runs weekly has no pod tonight: its template names what it will pull.
    "CronJob": ("/apis/batch/v1/cronjobs", ("spec", "jobTemplate", "spec", "template", "spec")),
}
CONTAINER_FIELDS = ("containers", "initContainers", "ephemeralContainers")
STATUS_FIELDS = ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses")


class KubernetesError(RuntimeError):
    """A list call did not answer 200: the cluster cannot be read completely."""

    def __init__(self, path: str, status: int, reason: str) -> None:
        self.path, self.status, self.reason = path, status, reason
        super().__init__(f"GET {path} answered {status} {reason}".rstrip())


@dataclass(frozen=True)
class Found:
    """One image a workload names, or a digest a container status reports."""

    kind: str
    namespace: str
    name: str
    reference: str


class KubernetesApi:
    """One cluster's API server, TLS verified against the cluster's own CA."""

    def __init__(self, endpoint: str, ca_pem: bytes, token: str, *, connect_s: float = 5.0, read_s: float = 30.0):
        self._endpoint = endpoint.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._http = urllib3.PoolManager(
            cert_reqs="CERT_REQUIRED",
            ca_cert_data=ca_pem.decode(),
            timeout=urllib3.Timeout(connect=connect_s, read=read_s),
            # A private endpoint that is not reachable fails fast; botocore-style backoff would only
            # delay the same answer.
            retries=urllib3.Retry(total=2, connect=2, read=1, status=0, backoff_factor=0.5, raise_on_status=False),
        )
        # List calls made (one per page), for the scan's count of its calls.
        self.calls = 0

    def items(self, kind: str) -> Iterator[dict[str, Any]]:
        """Every object of `kind` in every namespace, page by page (limit and continue)."""
        path, _ = KINDS[kind]
        token = ""
        while True:
            query = {"limit": PAGE_LIMIT, **({"continue": token} if token else {})}
            self.calls += 1
            response = self._http.request("GET", f"{self._endpoint}{path}?{urlencode(query)}", headers=self._headers)
            if response.status != 200:
                raise KubernetesError(path, response.status, _reason(response.data))
            page = json.loads(response.data)
            yield from page.get("items") or []
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                return

    def images(self) -> Iterator[Found]:
        """Every image named, and every digest reported running, by pods and workload templates."""
        for kind, (_, spec_path) in KINDS.items():
            for item in self.items(kind):
                metadata = item.get("metadata") or {}
                namespace, name = metadata.get("namespace", ""), metadata.get("name", "")
                spec: Any = item
                for key in spec_path:
                    spec = (spec or {}).get(key)
                for field in CONTAINER_FIELDS:
                    for container in (spec or {}).get(field) or []:
                        if container.get("image"):
                            yield Found(kind, namespace, name, container["image"])
                if kind == "Pod":
                    status = item.get("status") or {}
                    for field in STATUS_FIELDS:
                        for container in status.get(field) or []:
                            # The resolved digest: the tag may have moved since the pod started.
                            if container.get("imageID"):
                                yield Found(kind, namespace, name, container["imageID"])


def _reason(body: bytes) -> str:
    try:
        status = json.loads(body)
    except ValueError:
        return body[:200].decode(errors="replace")
    return str(status.get("reason") or status.get("message") or "")
