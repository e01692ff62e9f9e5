"""The archive storage class, which moto lacks: UpdateImageStorageClass, and the restore it starts
(`finish_restore` completes one)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from moto.core.responses import ActionResult
from moto.ecr.exceptions import ImageNotFoundException, InvalidParameterException
from moto.ecr.responses import ECRResponse

from emulator.ecr.images import DEFAULT_ACCOUNT, _find, backend, json_answer, lookup


def update_image_storage_class(self: ECRResponse) -> ActionResult:
    """moto lacks UpdateImageStorageClass (API_UpdateImageStorageClass): ARCHIVE moves an image to
    the archive storage class (ARCHIVED); STANDARD restores an archived one, which stays ACTIVATING
    until the restore completes, "typically up to 20 minutes" (ECR user guide, "Restoring an image";
    tests complete it with `finish_restore`)."""
    name = self._get_param("repositoryName")
    repository = self.ecr_backend._get_repository(name, self._get_param("registryId"))
    image_id = self._get_param("imageId") or {}
    target = self._get_param("targetStorageClass")
    if target not in ("STANDARD", "ARCHIVE"):
        raise InvalidParameterException(f"Invalid parameter at 'targetStorageClass': {target}")
    image = lookup(repository, image_id)
    if image is None:
        raise ImageNotFoundException(json.dumps(image_id), name, repository.registry_id)
    now = datetime.now(timezone.utc).timestamp()
    if target == "ARCHIVE" and image.image_status == "ACTIVE":
        image.image_status, image.last_archived_at = "ARCHIVED", now
    elif target == "STANDARD" and image.image_status == "ARCHIVED":
        image.image_status = "ACTIVATING"
    return json_answer(  # type: ignore[return-value]
        {
            "registryId": repository.registry_id,
            "repositoryName": name,
            "imageId": {
                "imageDigest": image.get_image_digest(),
                **({"imageTag": t} if (t := image_id.get("imageTag")) else {}),
            },
            "imageStatus": image.image_status,
        }
    )


def finish_restore(repository: str, digest: str, *, region: str = "us-east-1", account: str = DEFAULT_ACCOUNT) -> None:
    """Complete a restore, as ECR does some minutes after UpdateImageStorageClass(STANDARD)."""
    image = _find(backend(region, account)._get_repository(repository), digest)
    if image.image_status == "ACTIVATING":
        image.image_status, image.last_activated_at = "ACTIVE", datetime.now(timezone.utc).timestamp()
