"""Images and digests: the digest is sha256 of the manifest as pushed, a moved tag leaves the old image
untagged, and an image carries the fields ECR reports and moto lacks (size, pull time, referrer subject,
artifact type, storage class). Plus what only the passage of time or a concurrent push changes in ECR
(`set_image_times`, `add_tag`), and the ImageDetail every listing answers with."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.ecr.exceptions import InvalidParameterException
from moto.ecr.models import ECRBackend, Image, Repository, ecr_backends

DEFAULT_ACCOUNT = "123456789012"

INDEX_MEDIA_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)


def backend(region: str = "us-east-1", account: str = DEFAULT_ACCOUNT) -> ECRBackend:
    return ecr_backends[account][region]


def manifest_digest(manifest: str) -> str:
    """ECR's image digest is the sha256 of the manifest bytes as pushed."""
    return "sha256:" + hashlib.sha256(manifest.encode("utf-8")).hexdigest()


def set_image_times(
    repository: str,
    digest: str,
    *,
    pushed_at: datetime | None = None,
    last_pulled_at: datetime | None = None,
    region: str = "us-east-1",
    account: str = DEFAULT_ACCOUNT,
) -> None:
    """Set what only the passage of time sets in ECR: the push time and the last recorded pull."""
    image = _find(backend(region, account)._get_repository(repository), digest)
    if pushed_at is not None:
        image.image_pushed_at = pushed_at.timestamp()
    if last_pulled_at is not None:
        image.last_recorded_pull_time = last_pulled_at.timestamp()


def _find(repository: Repository, digest: str) -> Image:
    for image in repository.images:
        if image.get_image_digest() == digest:
            return image
    raise KeyError(f"{repository.name}@{digest}")


def add_tag(
    repository: str, digest: str, tag: str, *, region: str = "us-east-1", account: str = DEFAULT_ACCOUNT
) -> None:
    """Tag an image as a concurrent `docker push` of the same manifest would (for interleaving tests)."""
    _find(backend(region, account)._get_repository(repository), digest).update_tag(tag)


def children_of(image: Image) -> list[str]:
    """The digests an image index or manifest list names in manifests[]."""
    if image.image_manifest_media_type not in INDEX_MEDIA_TYPES:
        return []
    return [entry["digest"] for entry in json.loads(image.image_manifest).get("manifests", [])]


def image_detail(image: Image) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "registryId": image.registry_id,
        "repositoryName": image.repository_name,
        "imageDigest": image.get_image_digest(),
        "imagePushedAt": datetime.fromtimestamp(image.image_pushed_at, timezone.utc),
        "imageManifestMediaType": image.image_manifest_media_type,
        "imageStatus": image.image_status,
    }
    if image.image_tags:
        detail["imageTags"] = list(image.image_tags)
    size = getattr(image, "ecr_size", None)
    if size is not None:
        detail["imageSizeInBytes"] = size
    for attribute, key in (
        ("artifact_media_type", "artifactMediaType"),
        ("subject_manifest_digest", "subjectManifestDigest"),
    ):
        if getattr(image, attribute, None):
            detail[key] = getattr(image, attribute)
    pulled = getattr(image, "last_recorded_pull_time", None)
    if pulled is not None:
        detail["lastRecordedPullTime"] = datetime.fromtimestamp(pulled, timezone.utc)
    for attribute, key in (("last_archived_at", "lastArchivedAt"), ("last_activated_at", "lastActivatedAt")):
        if getattr(image, attribute, None) is not None:
            detail[key] = datetime.fromtimestamp(getattr(image, attribute), timezone.utc)
    return detail


def json_answer(result: dict[str, Any]) -> str:
    """The response body, serialized directly: moto's model-driven serializer costs more CPU than
    the rest of the request, which in a loaded server (benchmarks) would be what gets measured."""
    # Epoch seconds to the millisecond, truncated, as moto's serializer (and ECR's responses) have them.
    return json.dumps(result, default=lambda value: int(value.timestamp() * 1000) / 1000)


def lookup(repository: Repository, image_id: dict[str, str]) -> Image | None:
    """The image an id names: by digest, by tag, or by both (which must then agree)."""
    digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
    if not digest and not tag:
        return None
    return next(
        (
            image
            for image in repository.images
            if (not digest or image.get_image_digest() == digest) and (not tag or tag in image.image_tags)
        ),
        None,
    )


def put_image(
    self: ECRBackend,
    repository_name: str,
    image_manifest: str,
    image_tag: str | None,
    image_manifest_mediatype: str | None = None,
    digest: str | None = None,
) -> Image:
    """Restores two ECR behaviours moto gets wrong.

    - The digest is sha256 of the manifest; a different imageDigest is refused.
    - A tag that moves to a new manifest leaves the old image in place, untagged
      (containers-roadmap#2746); moto deletes the old image.
    """
    repository = self._get_repository(repository_name)
    try:
        manifest = json.loads(image_manifest)
    except json.JSONDecodeError:
        raise InvalidParameterException("Invalid parameter at 'imageManifest': invalid JSON") from None
    media_type = image_manifest_mediatype or manifest.get("mediaType")
    if not media_type:
        raise InvalidParameterException("image manifest mediatype not provided in manifest or parameter")
    computed = manifest_digest(image_manifest)
    if digest and digest != computed:
        raise JsonRESTError(
            "ImageDigestDoesNotMatchException",
            f"The image digest {digest} does not match the digest of the manifest, {computed}",
        )

    if media_type in INDEX_MEDIA_TYPES:
        present = {i.get_image_digest() for i in repository.images}
        missing = [entry["digest"] for entry in manifest.get("manifests", []) if entry["digest"] not in present]
        if missing:
            # ECR accepts an index only once every manifest it lists is in the repository.
            raise JsonRESTError(
                "ReferencedImagesNotFoundException", f"The image index references images not found: {missing}"
            )

    existing = next((i for i in repository.images if i.get_image_digest() == computed), None)
    if image_tag and existing is not None and image_tag in existing.image_tags:
        from moto.ecr.exceptions import ImageAlreadyExistsException

        raise ImageAlreadyExistsException(
            registry_id=repository.registry_id,
            image_tag=image_tag,
            digest=computed,
            repository_name=repository_name,
        )
    if image_tag:
        # Raises for immutable tags, as ECR does.
        for holder in self._resolve_image_tag_mutability(repository, image_tag):
            holder.remove_tag(image_tag)
            if not holder.image_tags:
                holder.image_tag = None

    if existing is not None:
        if image_tag:
            existing.update_tag(image_tag)
        # "The image can be restored ... by re-pushing the image" (ECR user guide, "Archiving an image").
        existing.image_status = "ACTIVE"
        return existing

    image = new_image(self.account_id, repository_name, image_tag, image_manifest, media_type)
    repository.images.append(image)
    return image


def new_image(account_id: str, repository_name: str, tag: str | None, image_manifest: str, media_type: str) -> Image:
    """The image a first push of `image_manifest` creates, with the fields ECR reports and moto lacks."""
    manifest = json.loads(image_manifest)
    image = Image(account_id, tag, image_manifest, repository_name, media_type, manifest_digest(image_manifest))
    image.image_pushed_at = datetime.now(timezone.utc).timestamp()
    image.last_recorded_pull_time = None
    image.subject_manifest_digest = (manifest.get("subject") or {}).get("digest")
    image.artifact_media_type = manifest.get("artifactType") or (manifest.get("config") or {}).get("mediaType")
    layers = manifest.get("layers")
    image.ecr_size = sum(int(layer.get("size", 0)) for layer in layers) if layers is not None else None
    return image
