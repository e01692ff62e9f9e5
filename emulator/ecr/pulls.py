"""Pulls and pull times: BatchGetImage records lastRecordedPullTime unless the caller is excluded, and
refuses archived images; the pull-time update exclusions (Register, Deregister, List), which moto lacks."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.ecr.exceptions import InvalidParameterException
from moto.ecr.models import ECRBackend, Image
from moto.ecr.responses import ECRResponse

from emulator.ecr.deletion import failure, requested_ids
from emulator.ecr.images import json_answer, lookup
from emulator.ecr.listing import page_of


def batch_get_image(self: ECRResponse) -> ActionResult:
    """Restores pull-time recording: a pull by a principal that is not excluded sets
    lastRecordedPullTime (ECR user guide, pull-time update exclusions). Refuses archived images:
    "Archived images cannot be pulled. Requests to pull the archived image will fail with a 404
    error" (ECR user guide, "Archiving an image"; also while ACTIVATING, "Restoring an image"), and
    "When an image is pulled, the BatchGetImage API is called once to retrieve the image manifest"
    (API_BatchGetImage). The API reference names no failure code for this case: the 404 of a pull
    is served here as the per-item failure ImageNotFound, and the call itself succeeds."""
    name = self._get_param("repositoryName")
    repository = self.ecr_backend._get_repository(name, self._get_param("registryId"))
    image_ids = requested_ids(self)
    images: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    pulled: list[Image] = []
    for image_id in image_ids:
        tag = image_id.get("imageTag")
        image = lookup(repository, image_id)
        if image is None:
            failures.append(failure(image_id, "ImageNotFound", "Requested image not found"))
            continue
        if image.image_status != "ACTIVE":
            failures.append(failure(image_id, "ImageNotFound", f"Requested image is {image.image_status.lower()}"))
            continue
        pulled.append(image)
        images.append(
            {
                "registryId": repository.registry_id,
                "repositoryName": name,
                "imageId": {"imageDigest": image.get_image_digest(), **({"imageTag": tag} if tag else {})},
                "imageManifest": image.image_manifest,
                "imageManifestMediaType": image.image_manifest_media_type,
            }
        )
    if not _excluded(self.ecr_backend, _caller_arn(self)):
        now = datetime.now(timezone.utc).timestamp()
        for image in pulled:
            image.last_recorded_pull_time = now
    return json_answer({"images": images, "failures": failures})  # type: ignore[return-value]


_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):role/(?:.*/)?([\w+=,.@-]+)")
_ASSUMED_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:sts::(\d{12}):assumed-role/([\w+=,.@-]+)/.+")
MAX_EXCLUSIONS = 100


def _caller_arn(response: ECRResponse) -> str:
    from moto.sts.models import sts_backends

    sts = sts_backends[response.current_account]["global"]
    return str(sts.get_caller_identity(response.get_access_key(), response.region)[1])


def _exclusions(ecr: ECRBackend) -> dict[str, datetime]:
    if not hasattr(ecr, "pull_time_exclusions"):
        ecr.pull_time_exclusions = {}
    return ecr.pull_time_exclusions  # type: ignore[no-any-return]


def _excluded(ecr: ECRBackend, caller: str) -> bool:
    """A role's sessions count as the role: exclusions name role ARNs, pulls come from sessions."""
    match = _ASSUMED_ROLE_ARN.fullmatch(caller) or _ROLE_ARN.fullmatch(caller)
    if match is None:
        return caller in _exclusions(ecr)
    for arn in _exclusions(ecr):
        role = _ROLE_ARN.fullmatch(arn)
        if role and role.groups() == match.groups():
            return True
    return False


def register_pull_time_update_exclusion(self: ECRResponse) -> ActionResult:
    arn = self._get_param("principalArn")
    if not _ROLE_ARN.fullmatch(arn or ""):
        raise InvalidParameterException(f"Invalid parameter at 'principalArn': {arn} is not an IAM role ARN")
    exclusions = _exclusions(self.ecr_backend)
    if arn in exclusions:
        raise JsonRESTError("ExclusionAlreadyExistsException", f"An exclusion for {arn} already exists")
    if len(exclusions) >= MAX_EXCLUSIONS:
        raise JsonRESTError("LimitExceededException", f"At most {MAX_EXCLUSIONS} exclusions per registry")
    exclusions[arn] = datetime.now(timezone.utc)
    return ActionResult({"principalArn": arn, "createdAt": exclusions[arn]})


def deregister_pull_time_update_exclusion(self: ECRResponse) -> ActionResult:
    arn = self._get_param("principalArn")
    if _exclusions(self.ecr_backend).pop(arn, None) is None:
        raise JsonRESTError("ExclusionNotFoundException", f"No exclusion for {arn}")
    return ActionResult({"principalArn": arn})


def list_pull_time_update_exclusions(self: ECRResponse) -> ActionResult:
    page, token = page_of(self, sorted(_exclusions(self.ecr_backend)), "exclusions")
    return ActionResult({"pullTimeUpdateExclusions": page, **({"nextToken": token} if token else {})})
