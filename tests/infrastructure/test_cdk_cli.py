"""One real `cdk synth` through the pinned CLI, exactly as a user or `make synth` runs it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from infra.app import ROOT, STACK_NAME

CDK = ROOT / "node_modules/.bin/cdk"


def test_the_cli_is_pinned_to_a_2x_release() -> None:
    # Given package.json and package-lock.json
    package = json.loads((ROOT / "package.json").read_text())
    version = package["devDependencies"]["aws-cdk"]

    # Then aws-cdk is pinned to an exact 2.x release
    assert version.startswith("2.") and version[0].isdigit(), "an exact 2.x pin, never a range or 3.0.0"
    # And the lock file installs that version
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/aws-cdk"]["version"] == version


@pytest.mark.cli
def test_cdk_synth_through_the_pinned_cli_without_credentials(tmp_path: Path) -> None:
    # Given the pinned CLI, and an environment without AWS credentials, account or region
    if not CDK.exists():
        pytest.fail("node_modules/.bin/cdk is missing: run `make dev` (npm ci)")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key not in ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION")
    }
    env |= {
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        # No credentials anywhere: synth must not need them.
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }

    # When it synthesizes the app
    out = tmp_path / "cdk.out"
    result = subprocess.run(
        [str(CDK), "synth", "--no-notices", "--quiet", "--output", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    # Then it succeeds, and the template's function runs on python3.14
    assert result.returncode == 0, result.stderr[-4000:]
    template = json.loads((out / f"{STACK_NAME}.template.json").read_text())
    [function] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert function["Properties"]["Runtime"] == "python3.14"
