"""moto's ECR (5.2.x), corrected where it differs from Amazon ECR.

What ECR does is taken from the Amazon ECR API Reference (DescribeRepositories, DescribeImages and
DescribeImagesFilter, BatchDeleteImage and ImageFailure, BatchGetImage, RegisterPullTimeUpdateExclusion,
UpdateImageStorageClass), the botocore service model `ecr` 2015-09-21 (maxResults 1..1000 and nextToken;
1 to 100 imageIds, which botocore does not check: 99designs/aws-ecr-gc#3), the Amazon ECR User Guide
("Image tag mutability", "Pull time update exclusions", "Archiving an image", "Restoring an image"), and
public issues where the documentation is silent: a moved tag leaves the old image untagged
(aws/containers-roadmap#2746); a child that an index in the repository lists is not deleted,
ImageReferencedByManifestList (aws/aws-cdk#25391).

`emulator.install()` patches moto's ECR backend and response classes in this process. It serves
moto in-process (`mock_aws`) and `ThreadedMotoServer` alike, so the tests, the demo and the
benchmarks all run against the same corrected behaviour. Each correction names what it restores.

Modules, by job (the names callers use are importable from `emulator.ecr`)
- `images`: digests, pushes (PutImage), the fields moto lacks, ImageDetail; `set_image_times`, `add_tag`.
- `listing`: DescribeRepositories and DescribeImages paged and filtered; ListTagsForResource.
- `deletion`: BatchDeleteImage's limits, imageIds[], failures[] and manifest-list rule.
- `pulls`: BatchGetImage's pull times, and the pull-time update exclusions.
- `archive`: UpdateImageStorageClass and `finish_restore`.
- `injection`: `faults`, the failures and interleavings tests inject (`Fault`, `Hook`).
"""

from __future__ import annotations

from moto.ecr import models as ecr_models
from moto.ecr.models import ECRBackend
from moto.ecr.responses import ECRResponse

from emulator.ecr.archive import finish_restore, update_image_storage_class
from emulator.ecr.deletion import MAX_DELETE_IDS, batch_delete_image
from emulator.ecr.images import (
    DEFAULT_ACCOUNT,
    INDEX_MEDIA_TYPES,
    _find,
    add_tag,
    backend,
    children_of,
    manifest_digest,
    new_image,
    put_image,
    set_image_times,
)
from emulator.ecr.injection import Fault, Faults, Hook, faults, faulty, repository_of_arn, repository_param
from emulator.ecr.listing import (
    DEFAULT_PAGE,
    IMAGE_STATUSES,
    MAX_PAGE,
    describe_images,
    describe_repositories,
    list_tags_for_resource,
)
from emulator.ecr.pulls import (
    MAX_EXCLUSIONS,
    batch_get_image,
    deregister_pull_time_update_exclusion,
    list_pull_time_update_exclusions,
    register_pull_time_update_exclusion,
)

__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_PAGE",
    "IMAGE_STATUSES",
    "INDEX_MEDIA_TYPES",
    "MAX_DELETE_IDS",
    "MAX_EXCLUSIONS",
    "MAX_PAGE",
    "Fault",
    "Faults",
    "Hook",
    "_find",
    "add_tag",
    "backend",
    "children_of",
    "faults",
    "finish_restore",
    "manifest_digest",
    "new_image",
    "set_image_times",
]


def _install() -> None:
    """Apply the ECR corrections to moto's classes (called once, by `emulator.install()`)."""
    ECRResponse.describe_repositories = faulty("DescribeRepositories", lambda r: None)(describe_repositories)
    ECRResponse.describe_images = faulty("DescribeImages", repository_param)(describe_images)
    ECRResponse.batch_delete_image = faulty("BatchDeleteImage", repository_param)(batch_delete_image)
    ECRResponse.batch_get_image = faulty("BatchGetImage", repository_param)(batch_get_image)
    ECRResponse.register_pull_time_update_exclusion = register_pull_time_update_exclusion
    ECRResponse.deregister_pull_time_update_exclusion = deregister_pull_time_update_exclusion
    ECRResponse.list_pull_time_update_exclusions = list_pull_time_update_exclusions
    ECRResponse.list_tags_for_resource = faulty("ListTagsForResource", repository_of_arn)(list_tags_for_resource)
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
