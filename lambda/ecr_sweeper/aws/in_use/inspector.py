"""Amazon Inspector's in-use data: what it saw ECS tasks and EKS pods run, for images under
enhanced scanning (inUseCount, lastInUseAt); a second net, also for clusters the function cannot reach."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ecr_sweeper.aws.in_use.calls import Source
from ecr_sweeper.aws.in_use.values import InUseScanFailed
from ecr_sweeper.core.model import Sighting
from ecr_sweeper.core.references import is_digest

if TYPE_CHECKING:
    from mypy_boto3_inspector2 import Inspector2Client


def scan_inspector(source: Source[Inspector2Client]) -> None:
    """What Amazon Inspector saw ECS tasks and EKS pods run, for images under enhanced scanning,
    including clusters the function cannot reach (inUseCount, lastInUseAt)."""
    if source.options.inspector == "off":
        return
    criteria = {
        "resourceType": [{"comparison": "EQUALS", "value": "AWS_ECR_CONTAINER_IMAGE"}],
        # Only images Inspector ever saw in use; the others carry no in-use data.
        "ecrImageLastInUseAt": [{"startInclusive": datetime(1970, 1, 2, tzinfo=timezone.utc)}],
    }
    try:
        for resource in source.pages("list_coverage", "coveredResources", filterCriteria=criteria):
            image = (resource.get("resourceMetadata") or {}).get("ecrImage") or {}
            # arn:aws:ecr:<region>:<account>:repository/<name>/sha256:<hex> (the ARN form Inspector uses).
            digest = str(resource.get("resourceId") or "").rpartition("/")[2]
            if is_digest(digest):
                source.in_use.sighted(digest, Sighting(int(image.get("inUseCount") or 0), image.get("lastInUseAt")))
    except InUseScanFailed as failed:
        if source.options.inspector == "required" or not failed.cause.startswith(INSPECTOR_UNAVAILABLE):
            raise
        cause = source.named(failed.cause) if source.account else failed.cause
        known = source.in_use.inspector_unavailable
        source.in_use.inspector_unavailable = f"{known}; {cause}" if known else cause


# Amazon Inspector not enabled, or not readable by the function: "auto" goes on without it.
INSPECTOR_UNAVAILABLE = ("AccessDenied", "ValidationException", "ResourceNotFoundException")
