"""Given a laptop whose set-up is wrong (no credentials, no region, an endpoint without a scheme or
that does not answer, a repository or pattern that matches nothing), when `ecr-sweeper` runs, then
it exits 2 with one line on stderr that says what to do, no traceback, and deletes nothing. Given a
right set-up, it finds its region as the AWS CLI does (AWS_REGION first) and selects repositories
by shell pattern."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import boto3
import pytest

from ecr_sweeper.cli import main
from emulator.identity import OWN
from emulator.seed import create_repository
from emulator.server import free_port
from infra.app import ROOT
from tests.integration.images import digests, untagged

CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")
# Other links of botocore's credential chain, removed so that none of them answers by accident.
OTHER_SOURCES = (
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


@pytest.fixture
def expired(ecr: Any) -> str:
    """Repository `app`, retention 1 day, with one untagged digest 5 days old: a sweep deletes it."""
    create_repository(ecr, "app", "1")
    return untagged(ecr, "app", "old", days=5)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    """The only line on stderr; fails on a traceback or on more than one line."""
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def summaries(document: dict[str, Any]) -> list[str]:
    return sorted(r["repository"] for r in document["records"] if r.get("record_type") == "repository_summary")


def test_no_credentials_exits_2_saying_how_to_log_in(
    ecr: Any, expired: str, capsys: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given no credentials anywhere in the chain: none in the environment, empty config and
    # credentials files, and no instance metadata. (A context of its own, undone before the `ecr`
    # fixture puts its credentials back.)
    config = tmp_path / "config"
    config.write_text("")
    with monkeypatch.context() as env:
        for name in CREDENTIALS + OTHER_SOURCES:
            env.delenv(name, raising=False)
        env.setenv("AWS_CONFIG_FILE", str(config))
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-such-credentials"))
        env.setenv("AWS_EC2_METADATA_DISABLED", "true")

        # When the tool sweeps without asking
        code, _, err = cli(capsys, "sweep", "--yes")

    # Then it exits 2 with one line that says how to get credentials, and deletes nothing
    line = one_line(err)
    assert code == 2
    assert "`aws sso login`" in line and "--profile" in line
    assert expired in digests(ecr, "app")


def test_no_region_exits_2_saying_where_to_give_one(
    ecr: Any, expired: str, capsys: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given credentials, but no region in the environment nor in the profile
    config = tmp_path / "config"
    config.write_text("[default]\noutput = json\n")
    with monkeypatch.context() as env:
        env.delenv("AWS_REGION", raising=False)
        env.delenv("AWS_DEFAULT_REGION", raising=False)
        env.delenv("AWS_PROFILE", raising=False)
        env.setenv("AWS_CONFIG_FILE", str(config))

        # When the tool sweeps without asking
        code, _, err = cli(capsys, "sweep", "--yes")

    # Then it exits 2 with one line naming both ways to give a region, and deletes nothing
    line = one_line(err)
    assert code == 2
    assert "--region" in line and "AWS_REGION" in line
    assert expired in digests(ecr, "app")


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("--endpoint-url", "localhost:4566"), ("needs a scheme", "http://localhost:4566")),
        (("--repository", "nope"), ("repository 'nope' does not exist in us-east-1",)),
        (("--repository", "team/*"), ("no repository matches 'team/*'",)),
    ],
    ids=["endpoint-without-scheme", "unknown-repository", "pattern-matching-nothing"],
)
def test_bad_set_up_exits_2_with_one_line_and_deletes_nothing(
    ecr: Any, expired: str, capsys: Any, args: tuple[str, ...], needles: tuple[str, ...]
) -> None:
    # Given the repository with an expired digest, and a wrong endpoint or selection

    # When the tool sweeps without asking
    code, _, err = cli(capsys, "sweep", "--yes", *args)

    # Then it exits 2 with one line that says what is wrong and what to do, and deletes nothing
    line = one_line(err)
    assert code == 2
    for needle in needles:
        assert needle in line
    assert expired in digests(ecr, "app")


def test_an_endpoint_that_does_not_answer_exits_2_naming_it(ecr: Any, expired: str, capsys: Any) -> None:
    # Given an endpoint where nothing listens
    endpoint = f"http://127.0.0.1:{free_port()}"

    # When the tool sweeps against it without asking
    code, _, err = cli(capsys, "sweep", "--yes", "--endpoint-url", endpoint)

    # Then it exits 2 with one line naming the endpoint, and deletes nothing
    line = one_line(err)
    assert code == 2
    assert f"nothing answers at {endpoint}" in line
    assert expired in digests(ecr, "app")


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"AWS_REGION": "eu-west-1"}, ("eu-west-1", "app")),
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-1"}, ("eu-west-1", "app")),
        ({"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "eu-west-1"}, ("us-east-1", "east")),
    ],
    ids=["only-AWS_REGION", "AWS_REGION-over-AWS_DEFAULT_REGION", "the-other-way-round"],
)
def test_aws_region_is_honoured_as_the_aws_cli_honours_it(
    ecr: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], expected: tuple[str, str]
) -> None:
    # Given an expired digest in `east` (us-east-1) and one in `app` (eu-west-1), and the regions
    # in the environment, AWS_DEFAULT_REGION unset unless given
    create_repository(ecr, "east", "1")
    untagged(ecr, "east", "old", days=5)
    west = boto3.client("ecr", **{**OWN, "region_name": "eu-west-1"})
    create_repository(west, "app", "1")
    untagged(west, "app", "old", days=5, region="eu-west-1")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    # When the tool plans without --region
    code, out, _ = cli(capsys, "plan", "--output", "json")

    # Then it planned the region AWS_REGION names, and only that one
    region, repository = expected
    document = json.loads(out)
    assert code == 0
    assert [s["region"] for s in document["summaries"]] == [region]
    assert summaries(document) == [repository]
    assert document["totals"]["digests"] == 1


def test_a_shell_pattern_selects_the_repositories_it_matches(ecr: Any, capsys: Any) -> None:
    # Given three repositories, each with one expired digest
    for name in ("team/api", "team/web", "other/x"):
        create_repository(ecr, name, "1")
        untagged(ecr, name, "old", days=5)

    # When the tool plans the repositories matching 'team/*'
    code, out, _ = cli(capsys, "plan", "--repository", "team/*", "--output", "json")

    # Then it covered exactly team/api and team/web
    document = json.loads(out)
    assert code == 0
    assert summaries(document) == ["team/api", "team/web"]
    assert document["totals"]["digests"] == 2


def test_version_is_the_projects(capsys: Any) -> None:
    # Given the version in pyproject.toml
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

    # When the tool is asked its version
    with pytest.raises(SystemExit) as exited:
        main(["--version"])

    # Then it prints that version and exits 0
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"ecr-sweeper {expected}\n"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--repository", "nope"), "repository 'nope' does not exist"),
        (("--endpoint-url", "localhost:4566"), "needs a scheme"),
        (("--endpoint-url", "http://127.0.0.1:{free}"), "nothing answers at http://127.0.0.1:"),
    ],
    ids=["unknown-repository", "endpoint-without-scheme", "endpoint-not-answering"],
)
def test_json_output_of_a_set_up_error_is_one_document(
    ecr: Any, expired: str, capsys: Any, args: tuple[str, ...], needle: str
) -> None:
    # Given a set-up error, and JSON output
    args = tuple(arg.format(free=free_port()) for arg in args)

    # When the tool plans
    code, out, _ = cli(capsys, "plan", *args, "--output", "json")

    # Then stdout holds exactly one JSON document: the exit code and the error
    document = json.loads(out)  # raises on anything but exactly one document
    assert code == 2
    assert document["exitCode"] == 2
    assert isinstance(document["error"], str) and needle in document["error"]
