"""The command line's first AWS call fails fast, its region is found as the AWS CLI finds it, and
each set-up error becomes one line that says what to do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, NoRegionError

from ecr_sweeper.aws import clients
from ecr_sweeper.aws.clients import Clients, setup_problem

# Short enough that an endpoint that does not answer fails "in seconds", not after botocore's 60 s.
SECONDS = 5


class Sts:
    def get_caller_identity(self) -> dict[str, str]:
        return {"Account": "123456789012", "Arn": "arn:aws:sts::123456789012:assumed-role/ci/build-42"}


def test_caller_asks_once_with_a_short_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a client factory that records how each client is built
    built: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def fake(*args: Any, **kwargs: Any) -> Sts:
        built.append((args, kwargs))
        return Sts()

    monkeypatch.setattr(clients, "client", fake)

    # When the clients of a profile, region and endpoint ask who is calling
    caller = Clients(region="eu-west-1", profile="laptop", endpoint_url="http://localhost:4566").caller()

    # Then one STS client asked once, with a short connect timeout, through the same profile,
    # region and endpoint as every other client
    assert caller == ("123456789012", "arn:aws:sts::123456789012:assumed-role/ci/build-42")
    [(args, kwargs)] = built
    assert args == ("sts", "eu-west-1")
    assert kwargs["attempts"] == 1
    assert 0 < kwargs["connect_timeout"] <= SECONDS
    assert kwargs["profile"] == "laptop" and kwargs["endpoint_url"] == "http://localhost:4566"


def test_the_client_factory_applies_attempts_and_connect_timeout() -> None:
    # Given the factory the preflight uses

    # When it builds a client with one attempt and a 3 s connect timeout
    sts = clients.client("sts", "us-east-1", attempts=1, connect_timeout=3)

    # Then botocore's configuration says so
    assert sts.meta.config.retries["total_max_attempts"] == 1
    assert sts.meta.config.connect_timeout == 3


@pytest.fixture
def profile_region(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A config file whose default profile is in ap-south-1 and profile `laptop` in ca-central-1;
    no region nor profile in the environment."""
    config = tmp_path / "config"
    config.write_text("[default]\nregion = ap-south-1\n[profile laptop]\nregion = ca-central-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("environment", "profile", "expected"),
    [
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-west-2"}, None, "eu-west-1"),
        ({"AWS_REGION": "eu-west-1"}, None, "eu-west-1"),
        ({"AWS_DEFAULT_REGION": "us-west-2"}, None, "us-west-2"),
        ({}, None, "ap-south-1"),
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-west-2"}, "laptop", "eu-west-1"),
        ({"AWS_DEFAULT_REGION": "us-west-2"}, "laptop", "us-west-2"),
        ({}, "laptop", "ca-central-1"),
    ],
)
def test_region_name_prefers_aws_region_then_aws_default_region_then_the_profile(
    profile_region: None,
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    profile: str | None,
    expected: str,
) -> None:
    # Given a config file with a region for the default profile and for profile laptop, the region variables of the
    # case, and the profile of the case
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    # When the clients are made without a region, then their region is the first of AWS_REGION, AWS_DEFAULT_REGION and
    # the profile's region
    assert Clients(profile=profile).region_name == expected


def test_the_configured_region_is_read_once_per_clients(profile_region: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no region in the environment: finding the profile's takes a botocore session
    sessions: list[str | None] = []
    session = clients.botocore.session.Session

    def counting(profile: str | None = None) -> Any:
        sessions.append(profile)
        return session(profile=profile)

    monkeypatch.setattr(clients.botocore.session, "Session", counting)
    here = Clients(profile="laptop")

    # When its clients ask for the region again and again
    regions = {here.region_name for _ in range(5)}

    # Then it was read once, and is the profile's
    assert regions == {"ca-central-1"}
    assert sessions == ["laptop"]


def test_a_given_region_wins_over_the_environment(profile_region: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given AWS_REGION and AWS_DEFAULT_REGION set in the environment
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")

    # When the clients are given a region, then they use it
    assert Clients(region="sa-east-1").region_name == "sa-east-1"
    # And clients moved into a region use that region
    assert Clients().in_region("sa-east-1").region_name == "sa-east-1"


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "..."}}, "GetCallerIdentity")


ENDPOINT = "http://127.0.0.1:4566"


@pytest.mark.parametrize(
    ("error", "endpoint", "needles"),
    [
        (NoCredentialsError(), None, ("`aws sso login`", "--profile")),
        (NoRegionError(), None, ("--region", "AWS_REGION")),
        (EndpointConnectionError(endpoint_url=f"{ENDPOINT}/"), ENDPOINT, (f"nothing answers at {ENDPOINT}",)),
        (client_error("ExpiredToken"), None, ("expired", "`aws sso login`")),
        (client_error("ExpiredTokenException"), None, ("expired",)),
    ],
    ids=["no-credentials", "no-region", "endpoint-not-answering", "expired-token", "expired-token-exception"],
)
def test_setup_problem_says_what_to_do(error: Exception, endpoint: str | None, needles: tuple[str, ...]) -> None:
    # Given a set-up error of the case, with or without an endpoint
    # When it is turned into a set-up problem
    problem = setup_problem(error, endpoint)

    # Then the problem is one line
    assert problem is not None and "\n" not in problem
    # And it names what to do
    for needle in needles:
        assert needle in problem


def test_an_unreachable_aws_without_an_endpoint_is_not_blamed_on_an_emulator() -> None:
    # Given that the real AWS endpoint does not answer, and no endpoint was given
    # When it is turned into a set-up problem
    problem = setup_problem(EndpointConnectionError(endpoint_url="https://sts.us-east-1.amazonaws.com/"), None)

    # Then the problem neither says that nothing answers at an endpoint nor asks for --endpoint-url
    assert problem is not None and "nothing answers" not in problem and "--endpoint-url" not in problem


@pytest.mark.parametrize(
    "error",
    [client_error("AccessDenied"), client_error("AccessDeniedException"), ValueError("not AWS")],
    ids=["AccessDenied", "AccessDeniedException", "not-an-aws-error"],
)
def test_other_errors_are_not_set_up_problems(error: Exception) -> None:
    # Given an access denied error or an error that is not from AWS, when it is turned into a set-up problem, then there
    # is none
    assert setup_problem(error, None) is None
