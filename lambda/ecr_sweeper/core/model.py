"""Plain data that crosses the layers: what the registry returns and what the planner decides."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

# An archived image cannot be pulled until restored (ECR user guide, "Archiving an image"); one
# being restored is ACTIVATING. Both are kept and protect what they list and what refers to them.
ARCHIVED_STATUSES = frozenset({"ARCHIVED", "ACTIVATING"})


@dataclass(frozen=True, slots=True)
class Repository:
    name: str
    arn: str


@dataclass(frozen=True, slots=True)
class Image:
    """One digest in a repository, as DescribeImages reports it."""

    digest: str
    tags: tuple[str, ...]
    pushed_at: datetime | None
    size_bytes: int
    last_pulled_at: datetime | None = None
    media_type: str | None = None
    artifact_media_type: str | None = None
    subject_digest: str | None = None
    # ACTIVE, ARCHIVED or ACTIVATING (ImageDetail.imageStatus; absent before the archive class).
    status: str = "ACTIVE"

    @property
    def untagged(self) -> bool:
        return not self.tags

    @property
    def archived(self) -> bool:
        """In the archive storage class, or on its way back: never a candidate, always kept."""
        return self.status in ARCHIVED_STATUSES


class Action(enum.Enum):
    """The one vocabulary for what becomes of an untagged digest: the `action` of its verdict record.

    The planner decides KEPT or WOULD_DELETE; a dry run reports that plan as it is, and a real run
    turns each WOULD_DELETE into what happened to it.
    """

    KEPT = "kept"
    WOULD_DELETE = "would_delete"
    DELETED = "deleted"
    # ECR refused the delete (BatchDeleteImage failures[], or no confirmation).
    DELETE_FAILED = "delete_failed"
    # Planned, but gone before the delete: re-checked missing, or ECR answered ImageNotFound.
    GONE = "gone"
    # Planned, but the invocation's deadline came first: the next run judges it again.
    DEFERRED = "deferred"


class Protection(enum.Enum):
    """Why an untagged digest is kept: each family has its own metric (ProtectedBy<Family>)."""

    AGE = "Age"
    PULL = "Pull"
    INDEX = "Index"
    REFERRER = "Referrer"
    LAMBDA = "Lambda"
    ECS = "Ecs"
    BATCH = "Batch"
    APP_RUNNER = "AppRunner"
    SAGEMAKER = "SageMaker"
    EKS = "Eks"
    INSPECTOR = "Inspector"


# The families of "in use", and the word each one's reasons start with ("in use by ecs <ARN>").
IN_USE_FAMILIES: Mapping[Protection, str] = {
    Protection.LAMBDA: "lambda",
    Protection.ECS: "ecs",
    Protection.BATCH: "batch",
    Protection.APP_RUNNER: "apprunner",
    Protection.SAGEMAKER: "sagemaker",
    Protection.EKS: "eks",
}


@dataclass(frozen=True, slots=True)
class Use:
    """One workload that runs, or will pull at its next scale-out, a digest."""

    family: Protection
    # The workload's ARN (or ARN and qualifier), as the reason names it.
    who: str

    def __str__(self) -> str:
        return f"{IN_USE_FAMILIES[self.family]} {self.who}"


@dataclass(frozen=True, slots=True)
class Sighting:
    """What Amazon Inspector saw of an image: how many ECS tasks or EKS pods run it now, and when
    one last did (ListCoverage, resourceMetadata.ecrImage.inUseCount and lastInUseAt)."""

    in_use_count: int
    last_in_use_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeleteFailure:
    """One entry of BatchDeleteImage's failures[] (or a digest the response did not mention)."""

    digest: str
    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class Verdict:
    image: Image
    action: Action
    reason: str
    protection: Protection | None = None
    # For a digest in use: every workload found using it (the reason names the first).
    users: tuple[Use, ...] = ()
    # For a deletion the sweep cannot vouch for: what may still make ECR refuse it.
    caveat: str | None = None
    # For DELETE_FAILED: what ECR answered.
    failure: DeleteFailure | None = None
    # A keep decided at the last moment (re-check, withheld referrer, kept by ECR): a planned
    # deletion did not happen, which is worth a record at INFO rather than DEBUG.
    late: bool = False


@dataclass(frozen=True, slots=True)
class Check:
    """One rule the planner checked for a digest: whether it applies, and what it saw."""

    rule: str
    applies: bool
    detail: str
