"""The pinned CDK CLI deploying the app into the corrected emulator served on localhost."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest

from emulator.server import free_port
from infra.app import ROOT

CDK = ROOT / "node_modules/.bin/cdk"
ACCOUNT, REGION = "123456789012", "us-east-1"


@contextmanager
def local_deploy(
    out: Path, *context: str, bootstrap: bool = True, stacks: tuple[str, ...] = ()
) -> Iterator[dict[str, Any]]:
    """Bootstrap (unless told not to) and deploy `stacks` (default: the app's one) with `-c key=value`
    `context`; yields a client factory and the CLI."""
    if not CDK.exists():
        pytest.fail("node_modules/.bin/cdk is missing: run `make dev` (npm ci)")
    port = free_port()
    credentials = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
    server = subprocess.Popen(
        [sys.executable, "-m", "emulator.server", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **credentials},
    )
    assert server.stdout is not None and server.stdout.readline().startswith("READY")
    # localhost, not 127.0.0.1: the CLI builds the template's S3 URL from the endpoint
    # (http://127.0.0.1:PORT/<bucket>/<key>), and moto reads "127" as the bucket name (seen with
    # CDK CLI 2.1148.1 and moto 5.2.5; docs/develop/emulator.md, "Deploying into the emulator").
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        **credentials,
        "AWS_ENDPOINT_URL": f"http://localhost:{port}",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    flags = [arg for pair in context for arg in ("-c", pair)]

    def cdk(*args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(CDK), *args, *flags, "--no-notices"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stderr[-4000:]
        return result

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=f"http://localhost:{port}", region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip

    try:
        if bootstrap:
            cdk("bootstrap", f"aws://{ACCOUNT}/{REGION}", "--output", str(out))
        cdk("deploy", *stacks, "--require-approval", "never", "--output", str(out))
        yield {"client": client, "cdk": cdk, "out": out}
    finally:
        server.terminate()
        server.wait(timeout=30)
