"""The objects the Kubernetes API stand-in serves, by resource, at revisions: etcd's MVCC, in small.

Every write makes a new revision (etcd starts at 1); an object is alive from the revision that stored it
until the one that replaced or deleted it, so a list can read one snapshot across its pages (paging.py).
Compaction forgets what ended before it, and expires the continue tokens issued before it.
"""

from __future__ import annotations

import copy
import threading
import uuid
from dataclasses import dataclass
from typing import Any


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
BY_KIND = {resource.kind: resource for resource in RESOURCES}
BY_PATH = {(resource.group, resource.version, resource.plural): resource for resource in RESOURCES}


def uid(*parts: str) -> str:
    """A stable metadata.uid for an object, from its resource, namespace and name."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


@dataclass
class Version:
    """One object as stored at one revision, alive from `created` until `deleted` (etcd's MVCC, in small)."""

    key: str
    obj: dict[str, Any]
    created: int
    deleted: int | None = None

    def alive_at(self, revision: int) -> bool:
        return self.created <= revision and (self.deleted is None or self.deleted > revision)


class Store:
    """The stored objects of every resource. `lock` guards every field; the server shares it."""

    def __init__(self, lock: threading.RLock) -> None:
        self.lock = lock
        # plural -> every version stored, in the order stored (namespace/name keys).
        self.versions: dict[str, list[Version]] = {resource.plural: [] for resource in RESOURCES}
        # etcd starts at revision 1; every write makes a new one, and lists report the one they read.
        self.revision = 1
        self.compacted = 0

    def add(self, *objects: dict[str, Any]) -> None:
        """Store objects (a copy of each), routed by `kind`; one with the same namespace and name is replaced."""
        for obj in objects:
            resource = BY_KIND.get(obj.get("kind", ""))
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
            with self.lock:
                self.revision += 1
                self._end(resource.plural, f"{namespace}/{name}")
                stored["metadata"]["resourceVersion"] = str(self.revision)
                stored["metadata"].setdefault("uid", uid(resource.plural, namespace, name))
                self.versions[resource.plural].append(Version(f"{namespace}/{name}", stored, self.revision))

    def delete(self, kind: str, namespace: str, name: str) -> None:
        resource = BY_KIND[kind]
        with self.lock:
            self.revision += 1
            if not self._end(resource.plural, f"{namespace}/{name}"):
                raise KeyError(f"{kind} {namespace}/{name}")

    def compact(self) -> None:
        """Forget every version that ended by now, and expire every continue token issued so far."""
        with self.lock:
            self.revision += 1
            self.compacted = self.revision
            for plural, versions in self.versions.items():
                self.versions[plural] = [v for v in versions if v.deleted is None or v.deleted > self.compacted]

    def _end(self, plural: str, key: str) -> bool:
        ended = False
        for version in self.versions[plural]:
            if version.key == key and version.deleted is None:
                version.deleted = self.revision
                ended = True
        return ended
