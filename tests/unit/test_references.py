"""The one grammar for ECR image references: every registry host form, paths, tags and digests.

Hosts: ECR user guide, "Making requests to Amazon ECR registries" (IPv4 `dkr.ecr`, dual-stack
`dkr-ecr` under `on.aws`, FIPS variants of both) and the China partition (`amazonaws.com.cn`).
"""

from __future__ import annotations

import pytest

from ecr_sweeper.core.references import ImageRef, is_digest, parse_image, reported_digest

DIGEST = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32
ACCOUNT = "123456789012"


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        # IPv4 endpoint: by digest, by tag, bare (latest), tag and digest (the digest wins).
        (
            f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/api@{DIGEST}",
            ImageRef(ACCOUNT, "eu-west-1", "api", None, DIGEST),
        ),
        (f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/api:v1.2", ImageRef(ACCOUNT, "eu-west-1", "api", "v1.2")),
        (f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/api", ImageRef(ACCOUNT, "eu-west-1", "api", "latest")),
        (
            f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/pinned:1.4.2@{DIGEST}",
            ImageRef(ACCOUNT, "us-east-1", "pinned", "1.4.2", DIGEST),
        ),
        # FIPS, China, GovCloud.
        (f"{ACCOUNT}.dkr.ecr-fips.us-east-1.amazonaws.com/api:x", ImageRef(ACCOUNT, "us-east-1", "api", "x")),
        (
            f"{ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn/api@{DIGEST}",
            ImageRef(ACCOUNT, "cn-north-1", "api", None, DIGEST),
        ),
        (f"{ACCOUNT}.dkr.ecr.us-gov-west-1.amazonaws.com/api:x", ImageRef(ACCOUNT, "us-gov-west-1", "api", "x")),
        # Dual-stack, and dual-stack FIPS.
        (f"{ACCOUNT}.dkr-ecr.us-east-1.on.aws/v6@{DIGEST}", ImageRef(ACCOUNT, "us-east-1", "v6", None, DIGEST)),
        (f"{ACCOUNT}.dkr-ecr-fips.us-east-2.on.aws/v6:t", ImageRef(ACCOUNT, "us-east-2", "v6", "t")),
        (
            f"{ACCOUNT}.dkr-ecr.us-east-1.on.aws/team/v6:t@{DIGEST}",
            ImageRef(ACCOUNT, "us-east-1", "team/v6", "t", DIGEST),
        ),
        # Repository paths with slashes, dots, dashes and underscores; host case does not matter.
        (
            f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/org/team.x/api_v-2:prod",
            ImageRef(ACCOUNT, "eu-west-1", "org/team.x/api_v-2", "prod"),
        ),
        (f"{ACCOUNT}.DKR.ECR.EU-WEST-1.AMAZONAWS.COM/api:x", ImageRef(ACCOUNT, "eu-west-1", "api", "x")),
        (
            f"  {ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/api@{DIGEST}\n",
            ImageRef(ACCOUNT, "eu-west-1", "api", None, DIGEST),
        ),
        # Pull-through cache repositories are ECR repositories like any other.
        (
            f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/docker-hub/library/nginx@{DIGEST}",
            ImageRef(ACCOUNT, "eu-west-1", "docker-hub/library/nginx", None, DIGEST),
        ),
    ],
)
def test_every_ecr_reference_form(reference: str, expected: ImageRef) -> None:
    # Given an ECR image reference in one of its host, path, tag and digest forms
    # When it is parsed, then it names the account, region, repository, tag and digest
    assert parse_image(reference) == expected


@pytest.mark.parametrize(
    "reference",
    [
        None,
        "",
        "redis",
        "docker.io/library/redis:7",
        f"docker.io/library/redis@{DIGEST}",
        "public.ecr.aws/nginx/nginx:latest",
        f"ghcr.io/org/app@{DIGEST}",
        f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/api@sha256:short",
        f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/api@{DIGEST.upper()}",
        f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/Upper:case",
        f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com.evil.example/api@{DIGEST}",
        f"{ACCOUNT}.dkr-ecr.us-east-1.amazonaws.com/api@{DIGEST}",
        f"{ACCOUNT}.dkr.ecr.us-east-1.on.aws/api@{DIGEST}",
        f"12345.dkr.ecr.eu-west-1.amazonaws.com/api@{DIGEST}",
        f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/api:{'t' * 129}",
        f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/api@{DIGEST}@{OTHER}",
    ],
)
def test_anything_that_is_not_an_ecr_reference_is_ignored(reference: str | None) -> None:
    # Given a reference that is not to an ECR image, or is malformed
    # When it is parsed, then it is ignored
    assert parse_image(reference) is None


def test_the_digest_wins_when_a_tag_is_given_too() -> None:
    # Given a reference with both a tag and a digest
    # When it is parsed
    ref = parse_image(f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/pinned:1.4.2@{DIGEST}")

    # Then its digest is the one given
    assert ref is not None and ref.digest == DIGEST


@pytest.mark.parametrize(("value", "expected"), [(DIGEST, True), ("sha256:abc", False), (None, False), ("", False)])
def test_is_digest(value: str | None, expected: bool) -> None:
    # Given a value that may or may not be a full sha256 digest
    # When it is checked, then only a full digest is one
    assert is_digest(value) is expected


@pytest.mark.parametrize(
    ("reported", "expected"),
    [
        # containerd's imageID: the repository digest (Kubernetes ContainerStatus.imageID)
        (f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/web@{DIGEST}", DIGEST),
        # Docker's, with its scheme
        (f"docker-pullable://{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/web@{DIGEST}", DIGEST),
        # Another registry's digest: a content hash, protected all the same
        (f"docker.io/library/nginx@{DIGEST}", DIGEST),
        (DIGEST, DIGEST),
        (f"docker://{DIGEST}", DIGEST),
        ("", None),
        (None, None),
        (f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/web:prod", None),
        ("sha256:short", None),
    ],
)
def test_the_digest_a_runtime_reports(reported: str | None, expected: str | None) -> None:
    # Given an image as a container runtime reports it
    # When its digest is read, then it is the content digest it names, whatever the registry, or none
    assert reported_digest(reported) == expected
