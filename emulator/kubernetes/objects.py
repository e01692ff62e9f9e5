"""Objects shaped as the API server returns them, to seed the stand-in with (`KubernetesAPI.add`): pods, and the
workloads that hold a pod template. Shapes from the core/v1, apps/v1 and batch/v1 API references (PodSpec,
PodStatus/ContainerStatus, PodTemplateSpec, CronJobSpec.jobTemplate). The helpers' objects carry `kind` and
`apiVersion`, for routing; items in a served list do not, as the API server's JSON lists do not."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from emulator.kubernetes.store import BY_KIND, uid


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
            "uid": uid("pods", key),
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
    resource = BY_KIND.get(kind)
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
            "uid": uid(resource.plural, namespace, name),
            "generation": 1,
            "creationTimestamp": "2025-01-01T00:00:00Z",
            "labels": dict(labels),
        },
        "spec": spec,
        "status": status,
    }
