"""Every client reads response timestamps as timezone-aware UTC datetimes: the same instants as
botocore's default parser, without a dateutil tzlocal() per value."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import botocore.utils
import pytest
from botocore.awsrequest import AWSResponse

from ecr_sweeper.aws import clients

# The forms AWS sends: epoch seconds as JSON numbers (ECR imagePushedAt and lastRecordedPullTime,
# ECS, Inspector), ISO 8601 strings with Z or an offset (query and REST services: STS credentials,
# SSM), and the rarer ones botocore's own parser still reads (an RFC 822 date, a numeric string,
# more than six digits of fraction).
FORMS: list[Any] = [
    1793200187.068,
    1793200187,
    0,
    1700000000.123456,
    "2026-10-28T15:09:47Z",
    "2026-10-28T15:09:47.068Z",
    "2026-10-28T15:09:47.068000+00:00",
    "2026-10-28T17:09:47+02:00",
    "2026-10-28T08:09:47.5-0700",
    "2026-10-28 20:39:47+05:30",
    "2026-10-28T15:09:47.123456789Z",
    "Wed, 28 Oct 2026 15:09:47 GMT",
    "1793200187.068",
]


@pytest.mark.parametrize("value", FORMS, ids=repr)
def test_a_timestamp_is_the_instant_botocore_reads_in_utc(value: Any) -> None:
    # Given a timestamp as a service sends it

    # When the clients' parser and botocore's default parser read it
    parsed = clients.parse_timestamp(value)
    default = botocore.utils.parse_timestamp(value)

    # Then both name the same instant, and ours is aware and in UTC
    assert parsed == default
    assert parsed.tzinfo is timezone.utc


def test_a_time_without_a_zone_stays_naive_as_botocore_reads_it() -> None:
    # Given a time without a zone
    # No AWS API sends one; if one did, guessing its zone would change what botocore returns.
    # When the clients' parser and botocore's default parser read it, then both give the same naive datetime
    value = "2026-10-28T15:09:47"
    assert clients.parse_timestamp(value) == botocore.utils.parse_timestamp(value) == datetime(2026, 10, 28, 15, 9, 47)


def test_an_invalid_timestamp_is_refused_as_botocore_refuses_it() -> None:
    # Given a string that is not a time
    # When the clients' parser reads it, then it raises a ValueError, as botocore does
    with pytest.raises(ValueError, match="Invalid timestamp"):
        clients.parse_timestamp("not a time")


class _Body:
    def __init__(self, content: bytes) -> None:
        self.content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.content


def test_an_ecr_client_reads_image_times_as_utc_datetimes() -> None:
    # Given an ECR client from the factory, and DescribeImages' answer as ECR sends it (epoch seconds)
    ecr = clients.client("ecr", "us-east-1")
    detail = {
        "registryId": "123456789012",
        "repositoryName": "team/api",
        "imageDigest": "sha256:" + "a" * 64,
        "imagePushedAt": 1793200187.068,
        "lastRecordedPullTime": 1793286587.5,
    }
    body = json.dumps({"imageDetails": [detail]}).encode()
    answer = AWSResponse("https://api.ecr.us-east-1.amazonaws.com/", 200, {}, _Body(body))
    ecr.meta.events.register("before-send.ecr.DescribeImages", lambda **_: answer)

    # When it describes the repository's images
    [image] = ecr.describe_images(repositoryName="team/api")["imageDetails"]

    # Then both times are aware UTC datetimes of the instants ECR sent
    assert image["imagePushedAt"] == datetime(2026, 10, 28, 15, 9, 47, 68000, tzinfo=timezone.utc)
    assert image["lastRecordedPullTime"] == datetime.fromtimestamp(1793286587.5, timezone.utc)
    assert image["imagePushedAt"].tzinfo is timezone.utc
    assert image["lastRecordedPullTime"].tzinfo is timezone.utc
