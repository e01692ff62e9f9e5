"""What the integration tests share to build a registry and read it back: one clock, one image size."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from emulator.seed import image_size, push

# One clock per test session: every age below is counted from it.
NOW = datetime.now(timezone.utc)
SIZE = image_size()


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def digests(ecr: Any, repository: str) -> set[str]:
    """Every ACTIVE digest left in `repository`, across all pages of DescribeImages."""
    pages = ecr.get_paginator("describe_images").paginate(repositoryName=repository)
    return {d["imageDigest"] for page in pages for d in page["imageDetails"]}


def untagged(ecr: Any, repository: str, salt: str, days: float, **kwargs: Any) -> str:
    """Push an untagged image `days` old; returns its digest."""
    return push(ecr, repository, salt, pushed_at=ago(days), **kwargs)
