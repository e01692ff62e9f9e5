"""The command line keeps the function's state where its flags point: --profile and --endpoint-url
reach every client it builds, the rotation cursor's too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from ecr_sweeper.cli import main
from tests.emulator.identity import OWN
from tests.emulator.seed import create_repository
from tests.integration.registry import untagged

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


def test_the_cursor_is_kept_with_the_profiles_credentials_and_region(
    ecr: Any, laptop: str, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a repository in the profile's region with an expired digest, and a cursor parameter
    west = boto3.client("ecr", **{**OWN, "region_name": "eu-west-1"})
    create_repository(west, "app", "1")
    untagged(west, "app", "old", days=5, region="eu-west-1")
    monkeypatch.setenv("CURSOR_PARAMETER", CURSOR)

    # When the command line sweeps with --profile
    code = main(["sweep", "--yes", "--profile", laptop])

    # Then it swept the profile's region and kept the cursor there, not in another one
    assert code == 0, capsys.readouterr()
    assert west.describe_images(repositoryName="app")["imageDetails"] == []
    west_ssm = boto3.client("ssm", **{**OWN, "region_name": "eu-west-1"})
    assert west_ssm.get_parameter(Name=CURSOR)["Parameter"]["Value"] == "-"
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
