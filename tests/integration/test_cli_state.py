"""The command line keeps the function's state where its flags point: --profile and --endpoint-url
reach every client it builds, the rotation cursor's too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from ecr_sweeper.cli import main
from emulator.identity import OWN
from emulator.seed import create_repository
from tests.integration.images import untagged

CURSOR = "/ecr-sweeper/test/next-start"


@pytest.fixture
def laptop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A named profile whose region is eu-west-1, and no region in the environment."""
    config = tmp_path / "config"
    config.write_text(
        "[profile laptop]\nregion = eu-west-1\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    # The environment's region would win over the profile's (botocore's order of precedence).
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    return "laptop"


def test_the_cursor_is_read_with_the_profiles_credentials_and_region(
    ecr: Any, laptop: str, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two repositories in the profile's region, a cursor there that starts at the second, and
    # one worker, so that the records come in the order of the sweep
    west = boto3.client("ecr", **{**OWN, "region_name": "eu-west-1"})
    for name in ("aa", "bb"):
        create_repository(west, name, "1")
        untagged(west, name, "old", days=5, region="eu-west-1")
    west_ssm = boto3.client("ssm", **{**OWN, "region_name": "eu-west-1"})
    west_ssm.put_parameter(Name=CURSOR, Value="bb", Type="String")
    monkeypatch.setenv("CURSOR_PARAMETER", CURSOR)
    monkeypatch.setenv("MAX_WORKERS", "1")

    # When the command line plans, then sweeps, with --profile
    code = main(["plan", "--profile", laptop, "--output", "json"])
    planned = json.loads(capsys.readouterr().out)
    swept = main(["sweep", "--yes", "--profile", laptop])

    # Then it planned in the profile's region from the cursor kept there, deleted there, and left
    # the cursor as it was: a sweep of an approved plan does not move the nightly order
    assert code == 0 and swept == 0, capsys.readouterr()
    order = [r["repository"] for r in planned["records"] if r.get("record_type") == "repository_summary"]
    assert order == ["bb", "aa"]
    assert west.describe_images(repositoryName="aa")["imageDetails"] == []
    assert west_ssm.get_parameter(Name=CURSOR)["Parameter"]["Value"] == "bb"
    east_ssm = boto3.client("ssm", **OWN)
    with pytest.raises(east_ssm.exceptions.ParameterNotFound):
        east_ssm.get_parameter(Name=CURSOR)


def test_a_plan_never_writes_the_cursor(ecr: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a repository and a cursor parameter
    create_repository(ecr, "app", "1")
    monkeypatch.setenv("CURSOR_PARAMETER", CURSOR)

    # When the command line plans
    code = main(["plan"])

    # Then nothing was written
    assert code == 0
    ssm = boto3.client("ssm", **OWN)
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name=CURSOR)
