"""Plain data that crosses the layers: what the registry returns and what the planner decides."""

from __future__ import annotations

import enum
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Verdict:
    image: Image
    action: Action
    reason: str


@dataclass(frozen=True, slots=True)
class DeleteFailure:
    """One entry of BatchDeleteImage's failures[] (or a digest the response did not mention)."""

    digest: str
    code: str
    reason: str
