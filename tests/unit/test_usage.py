"""Reading image URIs and the in-use scan's failure mode."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from ecr_sweeper.model import Image
from ecr_sweeper.usage import ImageRef, InUse, UsageScanFailed, parse_image, scan

HOST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (f"{HOST}/team/api@{DIGEST}", ImageRef("team/api", digest=DIGEST)),
        (f"{HOST}/team/api:v1.2", ImageRef("team/api", tag="v1.2")),
        (f"{HOST}/api", ImageRef("api", tag="latest")),
        ("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/api:x", ImageRef("api", tag="x")),
        ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/api:x", ImageRef("api", tag="x")),
        ("public.ecr.aws/nginx/nginx:latest", None),
        ("docker.io/library/redis:7", None),
        ("redis", None),
        (f"{HOST}/api@sha256:short", None),
    ],
)
def test_parse_image(uri: str, expected: ImageRef | None) -> None:
    assert parse_image(uri) == expected


def test_in_use_by_digest_and_by_tag() -> None:
    in_use = InUse()
    in_use.add_uri(f"{HOST}/api@{DIGEST}", "ecs arn:task")
    in_use.add_uri(f"{HOST}/api:prod", "lambda arn:fn")
    usage = in_use.for_repository("api")
    assert usage.users(Image(DIGEST, (), None, 0)) == ("ecs arn:task",)
    assert usage.users(Image("sha256:other", ("prod",), None, 0)) == ("lambda arn:fn",)
    assert in_use.for_repository("other").users(Image(DIGEST, (), None, 0)) == ()


def test_a_denied_listing_fails_the_whole_scan() -> None:
    lam = boto3.client("lambda", region_name="us-east-1")
    ecs = boto3.client("ecs", region_name="us-east-1")
    with Stubber(lam) as stub:
        stub.add_client_error("list_functions", "AccessDeniedException", "not authorized")
        with pytest.raises(UsageScanFailed, match="AccessDeniedException"):
            scan(lam, ecs)


def test_describe_tasks_failures_fail_the_scan() -> None:
    lam = boto3.client("lambda", region_name="us-east-1")
    ecs = boto3.client("ecs", region_name="us-east-1")
    arn = "arn:aws:ecs:us-east-1:123456789012:task/c/1"
    with Stubber(lam) as lam_stub, Stubber(ecs) as ecs_stub:
        lam_stub.add_response("list_functions", {"Functions": []})
        ecs_stub.add_response("list_clusters", {"clusterArns": ["c"]})
        ecs_stub.add_response("list_tasks", {"taskArns": [arn]})
        ecs_stub.add_response("list_tasks", {"taskArns": []})
        ecs_stub.add_response("describe_tasks", {"tasks": [], "failures": [{"arn": arn, "reason": "MISSING"}]})
        with pytest.raises(UsageScanFailed, match="DescribeTasks failures"):
            scan(lam, ecs)
