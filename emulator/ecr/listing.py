"""Listings, paged and filtered as ECR pages and filters them: maxResults 1..1000 (default 100) and an
opaque nextToken for DescribeRepositories and DescribeImages, which moto answers all at once; the
tagStatus and imageStatus filters of DescribeImages, which moto ignores."""

from __future__ import annotations

import json
from typing import Any

from moto.core.responses import ActionResult
from moto.ecr.exceptions import ImageNotFoundException, InvalidParameterException
from moto.ecr.responses import ECRResponse

from emulator import paging
from emulator.ecr.images import image_detail, json_answer, lookup

# DescribeImages and DescribeRepositories: maxResults 1..1000, default 100 (botocore model).
DEFAULT_PAGE = 100
MAX_PAGE = 1000


def page_of(response: ECRResponse, items: list[Any], scope: str) -> tuple[list[Any], str | None]:
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


def describe_repositories(self: ECRResponse) -> ActionResult:
    """Restores paging: moto returns every repository at once and ignores maxResults/nextToken."""
    names = self._get_param("repositoryNames")
    if names and (self._get_param("maxResults") is not None or self._get_param("nextToken")):
        raise InvalidParameterException("maxResults and nextToken cannot be used with repositoryNames")
    repositories = self.ecr_backend.describe_repositories(
        repository_names=names, registry_id=self._get_param("registryId")
    )
    page, token = page_of(self, list(repositories), "repositories")
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
            image = lookup(repository, image_id)
            if image is None:
                raise ImageNotFoundException(json.dumps(image_id), name, repository.registry_id)
            found.append(image_detail(image))
        return json_answer({"imageDetails": found})  # type: ignore[return-value]
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
    page, token = page_of(self, images, f"images:{name}:{tag_status}:{image_status}")
    result: dict[str, Any] = {"imageDetails": [image_detail(image) for image in page]}
    if token:
        result["nextToken"] = token
    return json_answer(result)  # type: ignore[return-value]


def list_tags_for_resource(self: ECRResponse) -> ActionResult:
    return json_answer(self.ecr_backend.list_tags_for_resource(self._get_param("resourceArn")))  # type: ignore[return-value]
