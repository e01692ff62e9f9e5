"""Build realistic registry content through the ECR API of the corrected emulator."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from emulator.ecr import manifest_digest, set_image_times

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def _blob(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def image_manifest(salt: str, layer_sizes: tuple[int, ...] = (30_000_000, 2_000_000)) -> str:
    """A Docker image manifest whose layers (and so digest) are unique to `salt`."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": DOCKER_CONFIG, "size": 1_500, "digest": _blob(f"config:{salt}")},
            "layers": [
                {"mediaType": DOCKER_LAYER, "size": size, "digest": _blob(f"layer:{salt}:{n}")}
                for n, size in enumerate(layer_sizes)
            ],
        },
        separators=(",", ":"),
    )


def push(
    ecr: Any,
    repository: str,
    salt: str,
    *,
    tag: str | None = None,
    layer_sizes: tuple[int, ...] = (30_000_000, 2_000_000),
    pushed_at: datetime | None = None,
    last_pulled_at: datetime | None = None,
    region: str = "us-east-1",
) -> str:
    """Push one image (tagged or by digest only) and return its digest."""
    return _put(ecr, repository, image_manifest(salt, layer_sizes), tag, pushed_at, last_pulled_at, region)


def image_size(layer_sizes: tuple[int, ...] = (30_000_000, 2_000_000)) -> int:
    return sum(layer_sizes)


def create_repository(ecr: Any, name: str, retention: str | None = None, *, key: str | None = None) -> str:
    from ecr_sweeper.core.constants import DEFAULT_RETENTION_TAG_KEY

    tags = [] if retention is None else [{"Key": key or DEFAULT_RETENTION_TAG_KEY, "Value": retention}]
    return ecr.create_repository(repositoryName=name, tags=tags)["repository"]["repositoryArn"]


OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
COSIGN_SIGNATURE = "application/vnd.dev.cosign.artifact.sig.v1+json"
SPDX_SBOM = "application/spdx+json"


def push_index(
    ecr: Any,
    repository: str,
    children: list[str],
    *,
    tag: str | None = None,
    media_type: str = OCI_INDEX,
    salt: str = "",
    pushed_at: datetime | None = None,
    last_pulled_at: datetime | None = None,
    region: str = "us-east-1",
) -> str:
    """Push an image index (OCI) or manifest list (Docker) naming `children`; returns its digest."""
    child_type = OCI_MANIFEST if media_type == OCI_INDEX else DOCKER_MANIFEST
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": media_type,
            "manifests": [
                {
                    "mediaType": child_type,
                    "digest": child,
                    "size": 500,
                    "platform": {"architecture": f"arch{n}", "os": "linux"},
                }
                for n, child in enumerate(children)
            ],
            "annotations": {"salt": salt},
        },
        separators=(",", ":"),
    )
    return _put(ecr, repository, manifest, tag, pushed_at, last_pulled_at, region)


def push_referrer(
    ecr: Any,
    repository: str,
    subject: str,
    *,
    artifact_type: str = COSIGN_SIGNATURE,
    salt: str = "",
    pushed_at: datetime | None = None,
    last_pulled_at: datetime | None = None,
    region: str = "us-east-1",
) -> str:
    """Push an OCI 1.1 referrer (a cosign signature or an SBOM) whose subject is `subject`."""
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2, "digest": _blob("{}")},
            "layers": [{"mediaType": artifact_type, "size": 1_000, "digest": _blob(f"{subject}:{salt}")}],
            "subject": {"mediaType": DOCKER_MANIFEST, "digest": subject, "size": 500},
        },
        separators=(",", ":"),
    )
    return _put(ecr, repository, manifest, None, pushed_at, last_pulled_at, region)


def _put(
    ecr: Any,
    repository: str,
    manifest: str,
    tag: str | None,
    pushed_at: datetime | None,
    last_pulled_at: datetime | None,
    region: str,
) -> str:
    digest = manifest_digest(manifest)
    kwargs: dict[str, Any] = {"imageTag": tag} if tag else {}
    ecr.put_image(repositoryName=repository, imageManifest=manifest, imageDigest=digest, **kwargs)
    if pushed_at or last_pulled_at:
        set_image_times(repository, digest, pushed_at=pushed_at, last_pulled_at=last_pulled_at, region=region)
    return digest
