"""BatchDeleteImage as ECR deletes: at most 100 ids, a filled imageIds[], per-item failures[], and no
child deleted while an index in the repository still lists it. Shared with BatchGetImage (pulls.py):
the ids a batch call takes, and one entry of its failures[]."""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.ecr.exceptions import InvalidParameterException, RepositoryNotFoundException
from moto.ecr.responses import ECRResponse

from emulator.ecr.images import children_of, json_answer, lookup
from emulator.ecr.injection import faults

# BatchDeleteImage: imageIds 1..100 (botocore model; 99designs/aws-ecr-gc#3).
MAX_DELETE_IDS = 100


def requested_ids(response: ECRResponse) -> list[dict[str, str]]:
    """BatchGetImage and BatchDeleteImage take 1 to 100 ids; more fails the whole call."""
    image_ids: list[dict[str, str]] = response._get_param("imageIds") or []
    if not 1 <= len(image_ids) <= MAX_DELETE_IDS:
        raise InvalidParameterException(
            "1 validation error detected: Value at 'imageIds' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_DELETE_IDS}"
        )
    return image_ids


def failure(image_id: dict[str, str], code: str, reason: str) -> dict[str, Any]:
    """One entry of a batch call's failures[] (ECR API reference, ImageFailure)."""
    return {"imageId": dict(image_id), "failureCode": code, "failureReason": reason}


def batch_delete_image(self: ECRResponse) -> ActionResult:
    """Restores ECR's limit of 100 ids, a filled imageIds[], and per-item failures[]."""
    name = self._get_param("repositoryName")
    repository = self.ecr_backend.repositories.get(name)
    if repository is None:
        raise RepositoryNotFoundException(name, self._get_param("registryId") or self.current_account)
    image_ids = requested_ids(self)
    deleted: list[dict[str, str]] = []
    failures: list[dict[str, Any]] = []
    for image_id in image_ids:
        digest = image_id.get("imageDigest")
        tag = image_id.get("imageTag")
        if not digest and not tag:
            failures.append(
                {"imageId": {}, "failureCode": "MissingDigestAndTag", "failureReason": "both tag and digest are null"}
            )
            continue
        if digest in faults.delete_items:
            code, reason = faults.delete_items[digest]
            failures.append(failure(image_id, code, reason))
            continue
        image = lookup(repository, image_id)
        if image is None:
            failures.append(failure(image_id, "ImageNotFound", "Requested image not found"))
            continue
        parents = [
            other.get_image_digest()
            for other in repository.images
            if other is not image and image.get_image_digest() in children_of(other)
        ]
        if parents:
            # ECR refuses to delete a child that a remaining index lists (aws-cdk#25391).
            failures.append(
                failure(
                    image_id, "ImageReferencedByManifestList", f"Requested image referenced by manifest list: {parents}"
                )
            )
            continue
        if tag and not digest and len(image.image_tags) > 1:
            image.remove_tag(tag)
            deleted.append({"imageDigest": image.get_image_digest(), "imageTag": tag})
            continue
        repository.images.remove(image)
        # Deleting by digest removes the image with every tag that points at it.
        for each in image.image_tags or [None]:
            entry = {"imageDigest": image.get_image_digest()}
            if each:
                entry["imageTag"] = each
            deleted.append(entry)
    return json_answer({"imageIds": deleted, "failures": failures})  # type: ignore[return-value]
