"""The ECR adapter reads BatchDeleteImage responses strictly: no success the response does not show."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ecr_sweeper.aws.registry import EcrRegistry
from ecr_sweeper.core.model import DeleteFailure, Repository

REPO = Repository("app", "arn:aws:ecr:us-east-1:123456789012:repository/app")
A, B, C = ("sha256:" + ch * 64 for ch in "abc")


@pytest.fixture
def stubbed() -> Any:
    client = boto3.client("ecr", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber


def test_a_digest_missing_from_the_response_is_reported_not_claimed(stubbed: Any) -> None:
    # Given ECR answers a delete of A, B and C with A deleted and B failed, and does not mention C
    client, stubber = stubbed
    stubber.add_response(
        "batch_delete_image",
        {
            "imageIds": [{"imageDigest": A}],
            "failures": [{"imageId": {"imageDigest": B}, "failureCode": "KmsError", "failureReason": "no key"}],
        },
        {"repositoryName": "app", "imageIds": [{"imageDigest": d} for d in (A, B, C)]},
    )

    # When the adapter deletes the batch
    result = EcrRegistry(client).delete_batch(REPO, [A, B, C])

    # Then only A is claimed deleted
    assert result.deleted == [A]
    # And B fails with ECR's reason, and C fails as unconfirmed
    assert result.failures == [
        DeleteFailure(B, "KmsError", "no key"),
        DeleteFailure(C, "Unconfirmed", "BatchDeleteImage response did not list this digest"),
    ]


def test_an_unrequested_digest_in_image_ids_is_not_claimed(stubbed: Any) -> None:
    # Given ECR answers a delete of A with B deleted
    client, stubber = stubbed
    stubber.add_response("batch_delete_image", {"imageIds": [{"imageDigest": B}], "failures": []})

    # When the adapter deletes the batch
    result = EcrRegistry(client).delete_batch(REPO, [A])

    # Then nothing is claimed deleted, and A fails as unconfirmed
    assert result.deleted == []
    assert [f.code for f in result.failures] == ["Unconfirmed"]


@pytest.mark.parametrize("count", [0, 101])
def test_batches_outside_ecr_limits_are_refused_before_any_call(stubbed: Any, count: int) -> None:
    # Given a batch of 0 or of 101 digests and a stubbed client that expects no call
    client, _ = stubbed

    # When the adapter deletes it, then it is refused as outside 1 to 100
    with pytest.raises(ValueError, match="1 to 100"):
        EcrRegistry(client).delete_batch(REPO, [A] * count)
