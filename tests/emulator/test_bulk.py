"""Given the same repositories and images, created once through the ECR API (seed.py) and once
straight into the emulator's backend (bulk.py), when both are read back through the API, then they
are the same: large tests may seed in bulk and still assert what a pushed registry would give."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.bulk import create_repositories, push_untagged
from emulator.seed import create_repository, push
from tests.integration.images import ago

SALTS = ["a", "b", "c"]
# What differs between two repositories by construction: their names, and when each was created.
NAMED = ("repositoryName", "repositoryArn", "repositoryUri", "createdAt")


def _without_names(detail: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in detail.items() if key not in NAMED}


def test_bulk_seeding_leaves_what_pushing_through_the_api_leaves(ecr: Any) -> None:
    # Given one repository created and pushed to through the API, and one seeded in bulk
    create_repository(ecr, "pushed", "3")
    pushed = [push(ecr, "pushed", salt, pushed_at=ago(5)) for salt in SALTS]
    create_repositories(["bulk"], "3")
    seeded = push_untagged("bulk", SALTS, pushed_at=ago(5))

    # When both are read back through the API
    repositories = {r["repositoryName"]: r for r in ecr.describe_repositories()["repositories"]}
    details = {
        name: ecr.describe_images(repositoryName=name, filter={"imageStatus": "ANY"})["imageDetails"]
        for name in ("pushed", "bulk")
    }
    tags = {
        name: ecr.list_tags_for_resource(resourceArn=repositories[name]["repositoryArn"])["tags"]
        for name in ("pushed", "bulk")
    }
    manifests = {
        name: ecr.batch_get_image(repositoryName=name, imageIds=[{"imageDigest": d} for d in digests])["images"]
        for name, digests in (("pushed", pushed), ("bulk", seeded))
    }

    # Then the digests, the image details, the repositories' settings, tags and manifests are the same
    assert seeded == pushed
    assert [_without_names(d) for d in details["bulk"]] == [_without_names(d) for d in details["pushed"]]
    assert _without_names(repositories["bulk"]) == _without_names(repositories["pushed"])
    assert tags["bulk"] == tags["pushed"] == [{"Key": "ecr-sweeper:retention-days", "Value": "3"}]
    assert [m["imageManifest"] for m in manifests["bulk"]] == [m["imageManifest"] for m in manifests["pushed"]]


def test_bulk_seeding_refuses_a_digest_already_in_the_repository(ecr: Any) -> None:
    # Given a repository that holds an image
    create_repositories(["bulk"])
    push_untagged("bulk", ["a"], pushed_at=ago(5))

    # When the same manifest is seeded again
    # Then it is refused rather than seeded twice: a re-push is not what bulk seeding models
    with pytest.raises(ValueError, match="already in the repository"):
        push_untagged("bulk", ["a"], pushed_at=ago(1))
