"""The only module that talks to Amazon ECR: paging, tags, image details, manifests, batched deletes."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from ecr_sweeper.core.constants import (
    BATCH_GET_SIZE,
    DELETE_BATCH_SIZE,
    DESCRIBE_IDS_SIZE,
    INDEX_MEDIA_TYPES,
    PAGE_SIZE,
)
from ecr_sweeper.core.model import DeleteFailure, Image, Repository

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_ecr.type_defs import ImageDetailTypeDef

# Asked for explicitly so that ECR returns each manifest as pushed, never a converted one.
ACCEPTED_MEDIA_TYPES = sorted(
    INDEX_MEDIA_TYPES
    | {
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.v1+json",
    }
)


@dataclass
class DeleteResult:
    """What one BatchDeleteImage response shows: confirmed deletions and per-item failures."""

    deleted: list[str] = field(default_factory=list)
    failures: list[DeleteFailure] = field(default_factory=list)


class ManifestUnreadable(RuntimeError):
    """An index manifest could not be read, so its children are unknown; nothing may be deleted."""


class EcrRegistry:
    def __init__(self, client: ECRClient) -> None:
        self._ecr = client

    def repositories(self) -> Iterator[Repository]:
        pages = self._ecr.get_paginator("describe_repositories").paginate(PaginationConfig={"PageSize": PAGE_SIZE})
        for page in pages:
            for repo in page["repositories"]:
                yield Repository(name=repo["repositoryName"], arn=repo["repositoryArn"])

    def pull_time_exclusions(self) -> list[str]:
        """The principals whose pulls ECR does not record in this region (at most 100 per
        registry: ECR API reference, RegisterPullTimeUpdateExclusion). botocore has no paginator
        for ListPullTimeUpdateExclusions, so the pages are followed by hand."""
        found: list[str] = []
        token: dict[str, str] = {}
        while True:
            page = self._ecr.list_pull_time_update_exclusions(maxResults=100, **token)
            found += page.get("pullTimeUpdateExclusions", [])
            if not page.get("nextToken"):
                return found
            token = {"nextToken": page["nextToken"]}

    def tags(self, repository: Repository) -> dict[str, str]:
        # DescribeRepositories carries no tags: one ListTagsForResource per repository.
        response = self._ecr.list_tags_for_resource(resourceArn=repository.arn)
        return {tag["Key"]: tag["Value"] for tag in response.get("tags", [])}

    def images(self, repository: Repository) -> list[Image]:
        """Every image of one repository, tagged or not, archived or not, read 1,000 per call.

        Without imageStatus ANY, DescribeImages lists only ACTIVE images (API_DescribeImagesFilter):
        an archived index would be invisible while ECR still refuses to delete what it lists.
        """
        pages = self._ecr.get_paginator("describe_images").paginate(
            repositoryName=repository.name,
            filter={"tagStatus": "ANY", "imageStatus": "ANY"},
            PaginationConfig={"PageSize": PAGE_SIZE},
        )
        return [_image(detail) for page in pages for detail in page["imageDetails"]]

    def manifests(
        self, repository: Repository, digests: Sequence[str], *, archived: Collection[str] = ()
    ) -> dict[str, tuple[str, ...]]:
        """The children (manifests[].digest) of each index, 100 indexes per BatchGetImage call.

        An index that is gone meanwhile is left out, and so is an `archived` one that ECR does not
        serve: an archived image cannot be pulled (ECR user guide, "Archiving an image"), and
        BatchGetImage is the pull of its manifest. The caller sees which ones are missing. Any other
        failure raises: children we cannot see might be deleted as if they had no parent.
        """
        children: dict[str, tuple[str, ...]] = {}
        for start in range(0, len(digests), BATCH_GET_SIZE):
            batch = digests[start : start + BATCH_GET_SIZE]
            response = self._ecr.batch_get_image(
                repositoryName=repository.name,
                imageIds=[{"imageDigest": digest} for digest in batch],
                acceptedMediaTypes=ACCEPTED_MEDIA_TYPES,
            )
            for failure in response.get("failures", []):
                if failure.get("imageId", {}).get("imageDigest") in archived:
                    continue
                if failure.get("failureCode") != "ImageNotFound":
                    raise ManifestUnreadable(
                        f"BatchGetImage could not read {failure.get('imageId', {}).get('imageDigest')}: "
                        f"{failure.get('failureCode')} {failure.get('failureReason', '')}".rstrip()
                    )
            for image in response.get("images", []):
                manifest = json.loads(image["imageManifest"])
                children[image["imageId"]["imageDigest"]] = tuple(
                    entry["digest"] for entry in manifest.get("manifests", []) if "digest" in entry
                )
        return children

    def describe(
        self, repository: Repository, digests: Sequence[str], *, likely_gone: Sequence[str] = ()
    ) -> dict[str, Image]:
        """The current details of these digests; a digest that is gone is left out.

        `likely_gone` digests are asked in the same call (up to 100 ids in all), but are expected
        to be missing: when the call fails, they are asked one by one, apart from the others.
        """
        asked = [*digests, *likely_gone]
        if len(asked) > DESCRIBE_IDS_SIZE:
            raise ValueError(f"DescribeImages takes up to {DESCRIBE_IDS_SIZE} ids, got {len(asked)}")
        if not asked:
            return {}
        try:
            response = self._ecr.describe_images(
                repositoryName=repository.name, imageIds=[{"imageDigest": digest} for digest in asked]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ImageNotFoundException":
                raise
            if len(asked) == 1:
                return {}
            # DescribeImages fails the whole call when one id is missing; ask again to see which.
            found: dict[str, Image] = {}
            if likely_gone:
                found.update(self.describe(repository, digests))
                others = list(likely_gone)
            else:
                others = list(digests)
            for digest in others:
                found.update(self.describe(repository, [digest]))
            return found
        return {detail["imageDigest"]: _image(detail) for detail in response["imageDetails"]}

    def delete_batch(self, repository: Repository, digests: Sequence[str]) -> DeleteResult:
        """Delete up to 100 digests; a digest counts as deleted only if the response lists it."""
        if not 0 < len(digests) <= DELETE_BATCH_SIZE:
            raise ValueError(f"BatchDeleteImage takes 1 to {DELETE_BATCH_SIZE} ids, got {len(digests)}")
        response = self._ecr.batch_delete_image(
            repositoryName=repository.name,
            imageIds=[{"imageDigest": digest} for digest in digests],
        )
        requested = set(digests)
        confirmed = {
            image_id["imageDigest"]
            for image_id in response.get("imageIds", [])
            if image_id.get("imageDigest") in requested
        }
        result = DeleteResult(deleted=[d for d in digests if d in confirmed])
        reported: set[str] = set()
        for failure in response.get("failures", []):
            digest = failure.get("imageId", {}).get("imageDigest", "")
            reported.add(digest)
            result.failures.append(
                DeleteFailure(
                    digest=digest,
                    code=failure.get("failureCode", "Unknown"),
                    reason=failure.get("failureReason", ""),
                )
            )
        for digest in digests:
            if digest not in confirmed and digest not in reported:
                # Neither deleted nor failed in the response: claim nothing, report it.
                result.failures.append(
                    DeleteFailure(digest, "Unconfirmed", "BatchDeleteImage response did not list this digest")
                )
        return result


def _image(detail: ImageDetailTypeDef) -> Image:
    return Image(
        digest=detail["imageDigest"],
        tags=tuple(detail.get("imageTags", ())),
        pushed_at=detail.get("imagePushedAt"),
        size_bytes=int(detail.get("imageSizeInBytes") or 0),
        last_pulled_at=detail.get("lastRecordedPullTime"),
        media_type=detail.get("imageManifestMediaType"),
        artifact_media_type=detail.get("artifactMediaType"),
        subject_digest=detail.get("subjectManifestDigest"),
        status=detail.get("imageStatus") or "ACTIVE",
    )
