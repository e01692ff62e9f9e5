"""The only module that talks to Amazon ECR: paging, tags, image details and batched deletes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from ecr_sweeper.constants import DELETE_BATCH_SIZE, PAGE_SIZE
from ecr_sweeper.model import DeleteFailure, Image, Repository

# ECR publishes no rate for DescribeImages, ListTagsForResource or BatchDeleteImage, and each
# API throttles on its own; botocore's standard mode retries ThrottlingException with
# exponential backoff; ten attempts in all (up to ~20 s apart) ride out a burst.
RETRY_ATTEMPTS = 10
USER_AGENT_APP_ID = "ecr-sweeper"


def ecr_client(region: str | None = None, *, max_pool_connections: int = 10) -> Any:
    """A new ECR client. Built per invocation, never at import, so tests and regions stay apart."""
    config = Config(
        retries={"mode": "standard", "total_max_attempts": RETRY_ATTEMPTS},
        max_pool_connections=max_pool_connections,
        user_agent_appid=USER_AGENT_APP_ID,
    )
    return boto3.session.Session().client("ecr", region_name=region, config=config)


@dataclass
class DeleteResult:
    """What one BatchDeleteImage response shows: confirmed deletions and per-item failures."""

    deleted: list[str] = field(default_factory=list)
    failures: list[DeleteFailure] = field(default_factory=list)


class EcrRegistry:
    def __init__(self, client: Any) -> None:
        self._ecr = client

    def repositories(self) -> Iterator[Repository]:
        pages = self._ecr.get_paginator("describe_repositories").paginate(PaginationConfig={"PageSize": PAGE_SIZE})
        for page in pages:
            for repo in page["repositories"]:
                yield Repository(name=repo["repositoryName"], arn=repo["repositoryArn"])

    def tags(self, repository: Repository) -> dict[str, str]:
        # DescribeRepositories carries no tags: one ListTagsForResource per repository.
        response = self._ecr.list_tags_for_resource(resourceArn=repository.arn)
        return {tag["Key"]: tag["Value"] for tag in response.get("tags", [])}

    def images(self, repository: Repository) -> list[Image]:
        """Every ACTIVE image of one repository, tagged or not, read 1,000 per call."""
        pages = self._ecr.get_paginator("describe_images").paginate(
            repositoryName=repository.name,
            filter={"tagStatus": "ANY"},
            PaginationConfig={"PageSize": PAGE_SIZE},
        )
        return [_image(detail) for page in pages for detail in page["imageDetails"]]

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


def _image(detail: dict[str, Any]) -> Image:
    return Image(
        digest=detail["imageDigest"],
        tags=tuple(detail.get("imageTags", ())),
        pushed_at=detail.get("imagePushedAt"),
        size_bytes=int(detail.get("imageSizeInBytes") or 0),
        last_pulled_at=detail.get("lastRecordedPullTime"),
        media_type=detail.get("imageManifestMediaType"),
        artifact_media_type=detail.get("artifactMediaType"),
        subject_digest=detail.get("subjectManifestDigest"),
    )
