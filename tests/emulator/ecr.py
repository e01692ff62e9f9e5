"""moto's ECR, corrected where it differs from Amazon ECR (docs/reference/ecr.md, "The local emulator:
where moto differs, and the correction").

`install()` patches moto's ECR backend and response classes in this process. It serves moto
in-process (`mock_aws`) and `ThreadedMotoServer` alike, so the tests, the demo and the
benchmarks all run against the same corrected behaviour. Each correction names what it restores.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.ecr import models as ecr_models
from moto.ecr.exceptions import ImageNotFoundException, InvalidParameterException, RepositoryNotFoundException
from moto.ecr.models import ECRBackend, Image, Repository, ecr_backends
from moto.ecr.responses import ECRResponse

from tests.emulator import paging

DEFAULT_ACCOUNT = "123456789012"

# DescribeImages and DescribeRepositories: maxResults 1..1000, default 100 (botocore model).
DEFAULT_PAGE = 100
MAX_PAGE = 1000
# BatchDeleteImage: imageIds 1..100 (botocore model; 99designs/aws-ecr-gc#3).
MAX_DELETE_IDS = 100

INDEX_MEDIA_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)


@dataclass
class Fault:
    """Make `operation` fail for `repository` (None: any) with `code`, `times` times (None: always)."""

    operation: str
    code: str
    repository: str | None = None
    message: str = "injected by the test emulator"
    times: int | None = None
    region: str | None = None


@dataclass
class Hook:
    """Run `action(request_params)` just before `operation` is served, `times` times (None: always)."""

    operation: str
    action: Callable[[dict[str, Any]], None]
    times: int | None = 1


@dataclass
class Faults:
    """Failures and interleavings the tests inject. Reset between tests with `reset()`."""

    calls: list[Fault] = field(default_factory=list)
    # digest -> (failureCode, failureReason) returned in BatchDeleteImage failures[].
    delete_items: dict[str, tuple[str, str]] = field(default_factory=dict)
    hooks: list[Hook] = field(default_factory=list)
    # For benchmarks: a fixed delay before every ECR call, and a share of calls throttled at random.
    latency_s: float = 0.0
    throttle_rate: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    lock: threading.RLock = field(default_factory=threading.RLock)

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.delete_items.clear()
            self.hooks.clear()
            self.latency_s = 0.0
            self.throttle_rate = 0.0

    def run_hooks(self, operation: str, params: dict[str, Any]) -> None:
        with self.lock:
            due = [h for h in self.hooks if h.operation == operation and (h.times is None or h.times > 0)]
            for hook in due:
                if hook.times is not None:
                    hook.times -= 1
        for hook in due:
            hook.action(params)

    def check(self, operation: str, repository: str | None, region: str | None = None) -> None:
        if self.latency_s:
            time.sleep(self.latency_s)
        if self.throttle_rate:
            with self.lock:
                throttled = self.rng.random() < self.throttle_rate
            if throttled:
                raise JsonRESTError("ThrottlingException", "Rate exceeded")
        with self.lock:
            for fault in self.calls:
                if fault.operation != operation or fault.repository not in (None, repository):
                    continue
                if fault.region not in (None, region):
                    continue
                if fault.times is not None:
                    if fault.times <= 0:
                        continue
                    fault.times -= 1
                # JsonRESTError, not ServiceException: moto serializes a ServiceException through
                # the ECR model, which has no AccessDeniedException or ThrottlingException.
                raise JsonRESTError(fault.code, fault.message)


faults = Faults()


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


def _detail(image: Image) -> dict[str, Any]:
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


def _json(result: dict[str, Any]) -> str:
    """The response body, serialized directly: moto's model-driven serializer costs more CPU than
    the rest of the request, which in a loaded server (benchmarks) would be what gets measured."""
    # Epoch seconds to the millisecond, truncated, as moto's serializer (and ECR's responses) have them.
    return json.dumps(result, default=lambda value: int(value.timestamp() * 1000) / 1000)


def _page(response: ECRResponse, items: list[Any], scope: str) -> tuple[list[Any], str | None]:
    """ECR pages with maxResults (1..1000, default 100) and an opaque nextToken."""
    max_results = response._get_param("maxResults")
    token = response._get_param("nextToken")
    size = DEFAULT_PAGE if max_results is None else int(max_results)
    if not 1 <= size <= MAX_PAGE:
        raise InvalidParameterException(
            f"Invalid parameter at 'maxResults' failed to satisfy constraint: "
            f"'Member must have value less than or equal to {MAX_PAGE}'"
        )
    return paging.page(
        items, size, token, scope, lambda: InvalidParameterException("Invalid parameter at 'nextToken': invalid token")
    )


def _faulty(operation: str, repository_of: Callable[[ECRResponse], str | None]) -> Callable[..., Any]:
    def wrap(method: Callable[[ECRResponse], ActionResult]) -> Callable[[ECRResponse], ActionResult]:
        def faulty(self: ECRResponse) -> ActionResult:
            faults.run_hooks(operation, _json_body(self))
            faults.check(operation, repository_of(self), self.region)
            return method(self)

        faulty.__name__ = method.__name__
        return faulty

    return wrap


def _json_body(response: ECRResponse) -> dict[str, Any]:
    body = response.body.decode() if isinstance(response.body, bytes) else response.body
    return json.loads(body) if body else {}


def _repository_param(response: ECRResponse) -> str | None:
    return response._get_param("repositoryName")


def _repository_of_arn(response: ECRResponse) -> str | None:
    arn = response._get_param("resourceArn") or ""
    return arn.split(":repository/", 1)[-1] or None


# ---------------------------------------------------------------------------------------------
# Corrected operations
# ---------------------------------------------------------------------------------------------


def _image_ids(response: ECRResponse) -> list[dict[str, str]]:
    """BatchGetImage and BatchDeleteImage take 1 to 100 ids; more fails the whole call."""
    image_ids: list[dict[str, str]] = response._get_param("imageIds") or []
    if not 1 <= len(image_ids) <= MAX_DELETE_IDS:
        raise InvalidParameterException(
            "1 validation error detected: Value at 'imageIds' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_DELETE_IDS}"
        )
    return image_ids


def _failure(image_id: dict[str, str], code: str, reason: str) -> dict[str, Any]:
    """One entry of a batch call's failures[] (ECR API reference, ImageFailure)."""
    return {"imageId": dict(image_id), "failureCode": code, "failureReason": reason}


def _lookup(repository: Repository, image_id: dict[str, str]) -> Image | None:
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


def describe_repositories(self: ECRResponse) -> ActionResult:
    """Restores paging: moto returns every repository at once and ignores maxResults/nextToken."""
    names = self._get_param("repositoryNames")
    if names and (self._get_param("maxResults") is not None or self._get_param("nextToken")):
        raise InvalidParameterException("maxResults and nextToken cannot be used with repositoryNames")
    repositories = self.ecr_backend.describe_repositories(
        repository_names=names, registry_id=self._get_param("registryId")
    )
    page, token = _page(self, list(repositories), "repositories")
    result: dict[str, Any] = {"repositories": page}
    if token:
        result["nextToken"] = token
    return ActionResult(result)


IMAGE_STATUSES = ("ACTIVE", "ARCHIVED", "ACTIVATING")


def describe_images(self: ECRResponse) -> ActionResult:
    """Restores the tagStatus filter, maxResults/nextToken paging, the OCI 1.1 fields, and the
    archive storage class: "If [filter.imageStatus is] not specified, only images with ACTIVE status
    are returned" (API_DescribeImagesFilter). A lookup by imageIds is not a listing and is served
    whatever the status (the reference documents the default for the filter only)."""
    name = self._get_param("repositoryName")
    repository = self.ecr_backend._get_repository(name, self._get_param("registryId"))
    image_ids = self._get_param("imageIds")
    if image_ids:
        if self._get_param("maxResults") is not None or self._get_param("nextToken"):
            raise InvalidParameterException("maxResults and nextToken cannot be used with imageIds")
        found = []
        for image_id in image_ids:
            image = _lookup(repository, image_id)
            if image is None:
                raise ImageNotFoundException(json.dumps(image_id), name, repository.registry_id)
            found.append(_detail(image))
        return _json({"imageDetails": found})  # type: ignore[return-value]
    tag_status = (self._get_param("filter") or {}).get("tagStatus", "ANY")
    if tag_status not in ("TAGGED", "UNTAGGED", "ANY"):
        raise InvalidParameterException(f"Invalid parameter at 'filter.tagStatus': {tag_status}")
    image_status = (self._get_param("filter") or {}).get("imageStatus", "ACTIVE")
    if image_status not in (*IMAGE_STATUSES, "ANY"):
        raise InvalidParameterException(f"Invalid parameter at 'filter.imageStatus': {image_status}")
    images = [
        image
        for image in repository.images
        if (tag_status == "ANY" or (tag_status == "TAGGED") == bool(image.image_tags))
        and image_status in ("ANY", image.image_status)
    ]
    page, token = _page(self, images, f"images:{name}:{tag_status}:{image_status}")
    result: dict[str, Any] = {"imageDetails": [_detail(image) for image in page]}
    if token:
        result["nextToken"] = token
    return _json(result)  # type: ignore[return-value]


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


def batch_delete_image(self: ECRResponse) -> ActionResult:
    """Restores ECR's limit of 100 ids, a filled imageIds[], and per-item failures[]."""
    name = self._get_param("repositoryName")
    repository = self.ecr_backend.repositories.get(name)
    if repository is None:
        raise RepositoryNotFoundException(name, self._get_param("registryId") or self.current_account)
    image_ids = _image_ids(self)
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
            failures.append(_failure(image_id, code, reason))
            continue
        image = _lookup(repository, image_id)
        if image is None:
            failures.append(_failure(image_id, "ImageNotFound", "Requested image not found"))
            continue
        parents = [
            other.get_image_digest()
            for other in repository.images
            if other is not image and image.get_image_digest() in children_of(other)
        ]
        if parents:
            # ECR refuses to delete a child that a remaining index lists (aws-cdk#25391).
            failures.append(
                _failure(
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
    return _json({"imageIds": deleted, "failures": failures})  # type: ignore[return-value]


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
    image_ids = _image_ids(self)
    images: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    pulled: list[Image] = []
    for image_id in image_ids:
        tag = image_id.get("imageTag")
        image = _lookup(repository, image_id)
        if image is None:
            failures.append(_failure(image_id, "ImageNotFound", "Requested image not found"))
            continue
        if image.image_status != "ACTIVE":
            failures.append(_failure(image_id, "ImageNotFound", f"Requested image is {image.image_status.lower()}"))
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
    return _json({"images": images, "failures": failures})  # type: ignore[return-value]


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
    page, token = _page(self, sorted(_exclusions(self.ecr_backend)), "exclusions")
    return ActionResult({"pullTimeUpdateExclusions": page, **({"nextToken": token} if token else {})})


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
    image = _lookup(repository, image_id)
    if image is None:
        raise ImageNotFoundException(json.dumps(image_id), name, repository.registry_id)
    now = datetime.now(timezone.utc).timestamp()
    if target == "ARCHIVE" and image.image_status == "ACTIVE":
        image.image_status, image.last_archived_at = "ARCHIVED", now
    elif target == "STANDARD" and image.image_status == "ARCHIVED":
        image.image_status = "ACTIVATING"
    return _json(  # type: ignore[return-value]
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


def list_tags_for_resource(self: ECRResponse) -> ActionResult:
    return _json(self.ecr_backend.list_tags_for_resource(self._get_param("resourceArn")))  # type: ignore[return-value]


_installed = False
_install_lock = threading.Lock()


def install() -> None:
    """Apply the corrections to moto's classes (ECR here; Lambda and ECS tasks in compute.py, ECS
    services in ecs_services.py, Batch and SageMaker in workloads.py, App Runner's stand-in in
    apprunner.py, Inspector's ListCoverage in inspector.py, Step Functions in states.py,
    sts:AssumeRole in identity.py, Organizations' ListAccounts in organizations.py). Idempotent."""
    global _installed
    with _install_lock:
        if _installed:
            return
        from tests.emulator import (
            apprunner,
            compute,
            ecs_services,
            identity,
            inspector,
            organizations,
            states,
            workloads,
        )

        identity.install()
        organizations.install()
        compute.install()
        ecs_services.install()
        states.install()
        workloads.install()
        apprunner.install()
        inspector.install()
        ECRResponse.describe_repositories = _faulty("DescribeRepositories", lambda r: None)(describe_repositories)
        ECRResponse.describe_images = _faulty("DescribeImages", _repository_param)(describe_images)
        ECRResponse.batch_delete_image = _faulty("BatchDeleteImage", _repository_param)(batch_delete_image)
        ECRResponse.batch_get_image = _faulty("BatchGetImage", _repository_param)(batch_get_image)
        ECRResponse.register_pull_time_update_exclusion = register_pull_time_update_exclusion
        ECRResponse.deregister_pull_time_update_exclusion = deregister_pull_time_update_exclusion
        ECRResponse.list_pull_time_update_exclusions = list_pull_time_update_exclusions
        ECRResponse.list_tags_for_resource = _faulty("ListTagsForResource", _repository_of_arn)(list_tags_for_resource)
        ECRResponse.update_image_storage_class = update_image_storage_class
        ECRBackend.put_image = put_image
        # The fields put_image sets, with defaults for images created any other way (moto's own code).
        ecr_models.Image.ecr_size = None
        ecr_models.Image.last_recorded_pull_time = None
        ecr_models.Image.subject_manifest_digest = None
        ecr_models.Image.artifact_media_type = None
        ecr_models.Image.image_status = "ACTIVE"
        ecr_models.Image.last_archived_at = None
        ecr_models.Image.last_activated_at = None
        _installed = True
