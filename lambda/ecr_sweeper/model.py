"""Plain data that crosses the layers: what the registry returns and what the planner decides."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


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

    @property
    def untagged(self) -> bool:
        return not self.tags


class Action(enum.Enum):
    DELETE = "delete"
    KEEP = "keep"


class Protection(enum.Enum):
    """Why an untagged digest is kept: each family has its own metric (ProtectedBy<Family>)."""

    AGE = "Age"
    PULL = "Pull"
    INDEX = "Index"
    REFERRER = "Referrer"
    LAMBDA = "Lambda"
    ECS = "Ecs"


@dataclass(frozen=True, slots=True)
class Verdict:
    image: Image
    action: Action
    reason: str
    protection: Protection | None = None


@dataclass(frozen=True)
class RepositoryUsage:
    """Who runs which digest (or tag) of one repository: "lambda <ARN>" or "ecs <ARN>" entries."""

    digests: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def users(self, image: Image) -> tuple[str, ...]:
        by_tag = tuple(user for tag in image.tags for user in self.tags.get(tag, ()))
        return self.digests.get(image.digest, ()) + by_tag


@dataclass(frozen=True, slots=True)
class DeleteFailure:
    """One entry of BatchDeleteImage's failures[] (or a digest the response did not mention)."""

    digest: str
    code: str
    reason: str
