"""The ECR images (and their repositories) Inspector covers, as `cover()` and `disable()` set them up, kept on
moto's inspector2 backend so that `mock_aws()` and `/moto-api/reset` clear them."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from moto.inspector2.models import Inspector2Backend, inspector2_backends
from moto.utilities.utils import get_partition

DEFAULT_ACCOUNT = "123456789012"

IMAGE = "AWS_ECR_CONTAINER_IMAGE"
REPOSITORY = "AWS_ECR_REPOSITORY"
SCAN_TYPE = "PACKAGE"
# EcrScanFrequency; what Inspector reports for a repository under continuous enhanced scanning.
SCAN_FREQUENCY = "CONTINUOUS_SCAN"
ALL_SCAN_TYPES = ["EC2", "ECR", "LAMBDA", "LAMBDA_CODE", "CODE_REPOSITORY"]

# ECR's repository name (CreateRepository) and the digest form the ResourceId pattern accepts.
_REPOSITORY_NAME = re.compile(r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*")
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}")


@dataclass
class Covered:
    """One CoveredResource row: an ECR image, or the repository that holds covered images."""

    resource_type: str
    resource_id: str
    account: str
    region: str
    repository: str
    tags: list[str] = field(default_factory=list)
    in_use_count: int | None = None
    last_in_use_at: datetime | None = None
    image_pulled_at: datetime | None = None
    last_scanned_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def attribute(self, criterion: str) -> Any:
        """The value a criterion compares, None where this row has no such attribute."""
        return {
            "accountId": self.account,
            "resourceId": self.resource_id,
            "resourceType": self.resource_type,
            "scanType": SCAN_TYPE,
            "scanStatusCode": "ACTIVE",
            "scanStatusReason": "SUCCESSFUL",
            "ecrRepositoryName": self.repository,
            "ecrImageTags": self.tags if self.resource_type == IMAGE else None,
            "ecrImageInUseCount": self.in_use_count,
            "ecrImageLastInUseAt": self.last_in_use_at,
            "imagePulledAt": self.image_pulled_at,
            "lastScannedAt": self.last_scanned_at,
            "cloudProvider": "AWS",
            "cloudProviderAccountId": self.account,
            "cloudProviderRegion": self.region,
        }.get(criterion)

    def describe(self) -> dict[str, Any]:
        metadata: dict[str, Any] = {"ecrRepository": {"name": self.repository, "scanFrequency": SCAN_FREQUENCY}}
        if self.resource_type == IMAGE:
            image: dict[str, Any] = {"tags": list(self.tags), "inUseCount": self.in_use_count}
            if self.image_pulled_at is not None:
                image["imagePulledAt"] = self.image_pulled_at
            if self.last_in_use_at is not None:
                image["lastInUseAt"] = self.last_in_use_at
            metadata["ecrImage"] = image
        return {
            "resourceType": self.resource_type,
            "resourceId": self.resource_id,
            "accountId": self.account,
            "scanType": SCAN_TYPE,
            "scanStatus": {"statusCode": "ACTIVE", "reason": "SUCCESSFUL"},
            "resourceMetadata": metadata,
            "lastScannedAt": self.last_scanned_at,
        }


coverage_lock = threading.RLock()


def backend(region: str = "us-east-1", account: str = DEFAULT_ACCOUNT) -> Inspector2Backend:
    return inspector2_backends[account][region]


def coverage_rows(inspector: Inspector2Backend) -> dict[str, Covered]:
    """resourceId -> row, kept on moto's backend so that mock_aws() and /moto-api/reset clear it."""
    if not hasattr(inspector, "ecr_coverage"):
        inspector.ecr_coverage = {}
    return inspector.ecr_coverage  # type: ignore[no-any-return]


def repository_arn(repository: str, region: str = "us-east-1", account: str = DEFAULT_ACCOUNT) -> str:
    return f"arn:{get_partition(region)}:ecr:{region}:{account}:repository/{repository}"


def image_resource_id(repository: str, digest: str, region: str = "us-east-1", account: str = DEFAULT_ACCOUNT) -> str:
    """The resourceId Inspector gives an ECR image (see the module docstring for the source)."""
    return f"{repository_arn(repository, region, account)}/{digest}"


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value


def cover(
    repository: str,
    digest: str,
    *,
    in_use_count: int = 0,
    last_in_use_at: datetime | None = None,
    image_pulled_at: datetime | None = None,
    tags: Sequence[str] = (),
    region: str = "us-east-1",
    account: str = DEFAULT_ACCOUNT,
) -> str:
    """Make Inspector cover an ECR image, as it reports it in ListCoverage; returns its resourceId."""
    if not _REPOSITORY_NAME.fullmatch(repository):
        raise ValueError(f"not an ECR repository name: {repository!r}")
    if not _DIGEST.fullmatch(digest):
        raise ValueError(f"not a sha256 image digest: {digest!r}")
    if in_use_count < 0:
        raise ValueError("in_use_count must not be negative")
    resource_id = image_resource_id(repository, digest, region, account)
    with coverage_lock:
        rows = coverage_rows(backend(region, account))
        repository_id = repository_arn(repository, region, account)
        rows.setdefault(repository_id, Covered(REPOSITORY, repository_id, account, region, repository))
        rows[resource_id] = Covered(
            IMAGE,
            resource_id,
            account,
            region,
            repository,
            tags=list(tags),
            in_use_count=in_use_count,
            last_in_use_at=_aware(last_in_use_at, "last_in_use_at"),
            image_pulled_at=_aware(image_pulled_at, "image_pulled_at"),
        )
    return resource_id


def disable(region: str = "us-east-1", account: str = DEFAULT_ACCOUNT) -> None:
    """Make the account behave, in that region, as one where Amazon Inspector is not enabled."""
    with coverage_lock:
        backend(region, account).disable([account], ALL_SCAN_TYPES)


def account_enabled(inspector: Inspector2Backend, account: str) -> tuple[bool, bool]:
    """(Inspector enabled, ECR scanning enabled) for the account, from moto's own account status."""
    status = inspector.account_status.get(account)
    if status is None:
        return True, True
    return status.to_json()["status"] == "ENABLED", status.ecr == "ENABLED"
