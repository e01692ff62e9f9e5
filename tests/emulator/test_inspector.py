"""Amazon Inspector's ListCoverage stand-in (emulator/inspector/) answers as the botocore model
and the Inspector API reference describe, in-process and served on 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from emulator import inspector, install
from emulator.inspector import IMAGE, MAX_RESULTS, MODEL, REPOSITORY, SCAN_FREQUENCY, cover, disable

ACCOUNT = "123456789012"
T0 = datetime(2024, 5, 1, tzinfo=timezone.utc)


def digest(n: int) -> str:
    return f"sha256:{n:064x}"


def error_code(raised: pytest.ExceptionInfo[ClientError]) -> str:
    return str(raised.value.response["Error"]["Code"])


def listed(client: Any, **criteria: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every covered resource matching the criteria, following nextToken."""
    rows: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"filterCriteria": criteria} if criteria else {}
    while True:
        page = client.list_coverage(**kwargs)
        rows += page["coveredResources"]
        if "nextToken" not in page:
            return rows
        kwargs["nextToken"] = page["nextToken"]


def ids(client: Any, **criteria: list[dict[str, Any]]) -> set[str]:
    return {row["resourceId"] for row in listed(client, **criteria)}


def image_id(repository: str, n: int, region: str = "us-east-1") -> str:
    return f"arn:aws:ecr:{region}:{ACCOUNT}:repository/{repository}/{digest(n)}"


def repository_id(repository: str) -> str:
    return f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{repository}"


IMAGES_ONLY = [{"comparison": "EQUALS", "value": IMAGE}]


@pytest.fixture
def client() -> Iterator[Any]:
    install()
    with mock_aws():
        yield boto3.client("inspector2", region_name="us-east-1")


def test_covered_images_are_listed_with_the_model_fields(client: Any) -> None:
    # Given two images of team/web in Inspector's coverage: one in use, pulled and tagged, and one never used
    before = datetime.now(timezone.utc).replace(microsecond=0)
    returned = cover(
        "team/web",
        digest(1),
        in_use_count=3,
        last_in_use_at=T0,
        image_pulled_at=T0 - timedelta(days=1),
        tags=("v1", "latest"),
    )
    cover("team/web", digest(2))

    # When the coverage is listed
    rows = {row["resourceId"]: row for row in listed(client)}

    # Then the repository and both images are listed, the repository first
    assert returned == image_id("team/web", 1)
    assert list(rows) == [repository_id("team/web"), image_id("team/web", 1), image_id("team/web", 2)]
    # And every row has the model's required fields and an active, successful package scan of this account
    required = MODEL.shape_for("CoveredResource").required_members
    resource_id_pattern = MODEL.shape_for("ResourceId").metadata["pattern"]
    for row in rows.values():
        assert set(required) <= row.keys()
        assert re.fullmatch(resource_id_pattern, row["resourceId"])
        assert row["accountId"] == ACCOUNT
        assert row["scanType"] == "PACKAGE"
        assert row["scanStatus"] == {"statusCode": "ACTIVE", "reason": "SUCCESSFUL"}
        assert row["lastScannedAt"] >= before
        assert row["resourceMetadata"]["ecrRepository"] == {"name": "team/web", "scanFrequency": SCAN_FREQUENCY}
    # And the image in use has its tags, in-use count and times
    used = rows[image_id("team/web", 1)]
    assert used["resourceType"] == IMAGE
    assert used["resourceMetadata"]["ecrImage"] == {
        "tags": ["v1", "latest"],
        "inUseCount": 3,
        "lastInUseAt": T0,
        "imagePulledAt": T0 - timedelta(days=1),
    }
    # Never pulled, never in use: the timestamps are absent, the count is 0.
    assert rows[image_id("team/web", 2)]["resourceMetadata"]["ecrImage"] == {"tags": [], "inUseCount": 0}
    # And the repository row has no image metadata
    repository = rows[repository_id("team/web")]
    assert repository["resourceType"] == REPOSITORY
    assert "ecrImage" not in repository["resourceMetadata"]


def test_resource_type_filter_separates_images_from_repositories(client: Any) -> None:
    # Given two images of repository app in the coverage
    cover("app", digest(1))
    cover("app", digest(2))

    # When the coverage is filtered by resource type, then EQUALS lists the images and NOT_EQUALS the repository
    assert ids(client, resourceType=IMAGES_ONLY) == {image_id("app", 1), image_id("app", 2)}
    assert ids(client, resourceType=[{"comparison": "NOT_EQUALS", "value": IMAGE}]) == {repository_id("app")}
    # Two EQUALS filters of one criterion OR together.
    both = [{"comparison": "EQUALS", "value": IMAGE}, {"comparison": "EQUALS", "value": REPOSITORY}]
    assert len(ids(client, resourceType=both)) == 3
    # And a type that is not covered lists nothing
    assert ids(client, resourceType=[{"comparison": "EQUALS", "value": "AWS_LAMBDA_FUNCTION"}]) == set()


def test_in_use_count_bounds_are_inclusive_and_ranges_or_together(client: Any) -> None:
    # Given three images in use 0, 1 and 5 times
    for n, count in ((1, 0), (2, 1), (3, 5)):
        cover("app", digest(n), in_use_count=count)

    def having(*ranges: dict[str, int]) -> set[str]:
        return ids(client, ecrImageInUseCount=list(ranges))

    # When the coverage is filtered by in-use count, then each bound counts as inside the range
    assert having({"lowerInclusive": 1}) == {image_id("app", 2), image_id("app", 3)}
    assert having({"upperInclusive": 0}) == {image_id("app", 1)}
    assert having({"lowerInclusive": 1, "upperInclusive": 1}) == {image_id("app", 2)}
    # And two ranges list the images of either
    assert having({"upperInclusive": 0}, {"lowerInclusive": 5}) == {image_id("app", 1), image_id("app", 3)}
    # The repository row has no in-use count, so no range matches it.
    assert repository_id("app") not in having({"lowerInclusive": 0})


def test_last_in_use_at_bounds_are_inclusive_and_skip_images_never_in_use(client: Any) -> None:
    # Given an image last in use at T0, one ten days later, and one never in use
    cover("app", digest(1), in_use_count=0, last_in_use_at=T0)
    cover("app", digest(2), in_use_count=1, last_in_use_at=T0 + timedelta(days=10))
    cover("app", digest(3))

    def used(**bounds: datetime) -> set[str]:
        return ids(client, ecrImageLastInUseAt=[bounds])

    # When the coverage is filtered by last in-use time, then each bound counts as inside the range
    assert used(startInclusive=T0 + timedelta(days=10)) == {image_id("app", 2)}
    assert used(endInclusive=T0) == {image_id("app", 1)}
    assert used(startInclusive=T0, endInclusive=T0 + timedelta(days=10)) == {image_id("app", 1), image_id("app", 2)}
    # And a range after both lists nothing, and the image never in use is never listed
    assert used(startInclusive=T0 + timedelta(days=11)) == set()


def test_repository_name_filter_equals_or_not_equals_and_refuses_prefix(client: Any) -> None:
    # Given images in team/a, team/b and other
    cover("team/a", digest(1))
    cover("team/b", digest(2))
    cover("other", digest(3))

    def named(*filters: tuple[str, str]) -> set[str]:
        return ids(
            client,
            resourceType=IMAGES_ONLY,
            ecrRepositoryName=[{"comparison": c, "value": v} for c, v in filters],
        )

    # When the images are filtered by repository name, then EQUALS filters list the images of either name
    assert named(("EQUALS", "team/a")) == {image_id("team/a", 1)}
    assert named(("EQUALS", "team/a"), ("EQUALS", "other")) == {image_id("team/a", 1), image_id("other", 3)}
    # And a NOT_EQUALS filter lists the images of the other repositories
    assert named(("NOT_EQUALS", "team/a")) == {image_id("team/b", 2), image_id("other", 3)}
    # NOT_EQUALS filters AND together: neither team/a nor team/b.
    assert named(("NOT_EQUALS", "team/a"), ("NOT_EQUALS", "team/b")) == {image_id("other", 3)}
    # The model's CoverageStringComparison has EQUALS and NOT_EQUALS only.
    # And a PREFIX filter is refused as a validation error
    with pytest.raises(ClientError) as raised:
        named(("PREFIX", "team/"))
    assert error_code(raised) == "ValidationException"


def test_image_pulled_at_and_account_filters_and_criteria_and_together(client: Any) -> None:
    # Given two images of app, pulled at T0 and a day later, and an image of web never pulled
    cover("app", digest(1), in_use_count=2, image_pulled_at=T0)
    cover("app", digest(2), in_use_count=0, image_pulled_at=T0 + timedelta(days=1))
    cover("web", digest(3), in_use_count=2)

    # When the coverage is filtered by pull time, then only the image pulled after the start is listed
    assert ids(client, imagePulledAt=[{"startInclusive": T0 + timedelta(hours=1)}]) == {image_id("app", 2)}
    # And another account lists nothing, and this account lists all five rows
    assert ids(client, accountId=[{"comparison": "EQUALS", "value": "210987654321"}]) == set()
    assert len(ids(client, accountId=[{"comparison": "EQUALS", "value": ACCOUNT}])) == 5
    # And criteria of different kinds must all hold: one image of app in use
    assert ids(
        client,
        resourceType=IMAGES_ONLY,
        ecrRepositoryName=[{"comparison": "EQUALS", "value": "app"}],
        ecrImageInUseCount=[{"lowerInclusive": 1}],
    ) == {image_id("app", 1)}


def test_paging_returns_every_resource_once(client: Any) -> None:
    # Given seven images of one repository: eight rows with the repository
    for n in range(7):
        cover("app", digest(n))

    # When the coverage is listed three at a time, following the next token
    seen: list[str] = []
    sizes: list[int] = []
    kwargs: dict[str, Any] = {"maxResults": 3}
    while True:
        page = client.list_coverage(**kwargs)
        sizes.append(len(page["coveredResources"]))
        seen += [row["resourceId"] for row in page["coveredResources"]]
        if "nextToken" not in page:
            break
        kwargs["nextToken"] = page["nextToken"]

    # Then the pages hold 3, 3 and 2 rows, each row once
    assert sizes == [3, 3, 2]
    assert len(seen) == len(set(seen)) == 8
    assert set(seen) == {repository_id("app")} | {image_id("app", n) for n in range(7)}
    # botocore's paginator (the model's paginators-1.json) reaches the same rows.
    # And botocore's paginator reaches the same rows in the same order
    paginated = client.get_paginator("list_coverage").paginate(PaginationConfig={"PageSize": 5})
    assert [row["resourceId"] for page in paginated for row in page["coveredResources"]] == seen


def test_next_token_is_bound_to_its_filters(client: Any) -> None:
    # Given three images, and a next token of a listing without filters
    for n in range(3):
        cover("app", digest(n))
    token = client.list_coverage(maxResults=1)["nextToken"]

    # When the token is used with a filter, then it is refused as a validation error
    with pytest.raises(ClientError) as raised:
        client.list_coverage(maxResults=1, nextToken=token, filterCriteria={"resourceType": IMAGES_ONLY})
    assert error_code(raised) == "ValidationException"
    # And a token the service never gave is refused too
    with pytest.raises(ClientError) as raised:
        client.list_coverage(nextToken="forged")
    assert error_code(raised) == "ValidationException"


def test_max_results_above_200_is_refused(client: Any) -> None:
    # Given one image: two rows with its repository
    cover("app", digest(1))

    # When the coverage is listed with the maximum of 200, then both rows come back
    assert len(client.list_coverage(maxResults=MAX_RESULTS)["coveredResources"]) == 2
    # And a maxResults of 201 is refused as a validation error, HTTP 400, FIELD_VALIDATION_FAILED
    with pytest.raises(ClientError) as raised:
        client.list_coverage(maxResults=MAX_RESULTS + 1)
    assert error_code(raised) == "ValidationException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert raised.value.response["reason"] == "FIELD_VALIDATION_FAILED"


def test_disable_answers_access_denied_until_inspector_is_enabled_again(client: Any) -> None:
    # Given one image in the coverage, and Inspector disabled
    cover("app", digest(1))
    disable()

    # When the coverage is listed
    with pytest.raises(ClientError) as raised:
        client.list_coverage()

    # Then access is denied (HTTP 403) because Inspector is not enabled
    assert error_code(raised) == "AccessDeniedException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "not enabled" in raised.value.response["Error"]["Message"]
    # moto's own account status agrees, and its Enable brings the coverage back.
    # And the account's status is DISABLED, and enabling Inspector again brings the image back
    [status] = client.batch_get_account_status(accountIds=[ACCOUNT])["accounts"]
    assert status["state"]["status"] == "DISABLED"
    client.enable(accountIds=[ACCOUNT], resourceTypes=["ECR"])
    assert image_id("app", 1) in ids(client)


def test_handler_is_a_plain_method_a_test_can_replace(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a ListCoverage handler replaced by one that denies access
    def denied(self: Any) -> str:
        raise inspector.AccessDeniedException(
            f"User: arn:aws:iam::{ACCOUNT}:role/sweeper is not authorized to perform: inspector2:ListCoverage"
        )

    monkeypatch.setattr(inspector.Inspector2Response, "list_coverage", denied)

    # When the coverage is listed, then the call fails with AccessDeniedException and says not authorized
    with pytest.raises(ClientError) as raised:
        client.list_coverage()
    assert error_code(raised) == "AccessDeniedException"
    assert "not authorized" in raised.value.response["Error"]["Message"]


def test_state_is_per_region_and_reset_by_mock_aws() -> None:
    # Given an image covered in us-west-2, and Inspector disabled in eu-west-1
    install()
    with mock_aws():
        cover("app", digest(1), region="us-west-2")
        disable(region="eu-west-1")
        east = boto3.client("inspector2", region_name="us-east-1")
        west = boto3.client("inspector2", region_name="us-west-2")

        # When each region lists the coverage, then us-east-1 lists nothing, us-west-2 its rows, and eu-west-1 is
        # refused
        assert ids(east) == set()
        assert ids(west) == {f"arn:aws:ecr:us-west-2:{ACCOUNT}:repository/app", image_id("app", 1, "us-west-2")}
        with pytest.raises(ClientError):
            boto3.client("inspector2", region_name="eu-west-1").list_coverage()
    # And a new mock_aws context has none of it
    with mock_aws():
        assert ids(boto3.client("inspector2", region_name="us-west-2")) == set()
        assert ids(boto3.client("inspector2", region_name="eu-west-1")) == set()


def test_served_by_threaded_moto_server(local_endpoint: str) -> None:
    # Given an image in use, and the emulator served on 127.0.0.1
    install()
    cover("app", digest(1), in_use_count=1)
    client = boto3.client("inspector2", region_name="us-east-1", endpoint_url=local_endpoint)

    # When the images in use are listed through the server, then it is the one listed
    [row] = listed(client, resourceType=IMAGES_ONLY, ecrImageInUseCount=[{"lowerInclusive": 1}])
    assert row["resourceId"] == image_id("app", 1)
    # And a maxResults above the maximum is refused
    with pytest.raises(ClientError) as raised:
        client.list_coverage(maxResults=MAX_RESULTS + 1)
    assert error_code(raised) == "ValidationException"
