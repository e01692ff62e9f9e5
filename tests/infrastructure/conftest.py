from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from infra.app import ROOT, build
from infra.stack import EcrSweeperStack

CDK_JSON = json.loads((ROOT / "cdk.json").read_text())

# The properties of a private, encrypted bucket: SSE-S3, and every kind of public access blocked.
PRIVATE_ENCRYPTED_BUCKET = {
    "BucketEncryption": {
        "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    },
    "PublicAccessBlockConfiguration": {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    },
}


# (context, bundle) -> what synth() built from it. A synth takes seconds and the tests only read
# its result, so each distinct pair is built once per session (with pytest-xdist: per worker).
_SYNTHESIZED: dict[str, tuple[EcrSweeperStack, Template]] = {}


def synth(context: dict[str, Any] | None = None, *, bundle: bool = True) -> tuple[EcrSweeperStack, Template]:
    """Build the app as app.py does, with cdk.json's context and `context` on top. A context that
    stops synth raises each time it is asked for; nothing is kept of it."""
    key = json.dumps([context or {}, bundle], sort_keys=True)
    if key not in _SYNTHESIZED:
        _SYNTHESIZED[key] = _synth(context, bundle=bundle)
    return _SYNTHESIZED[key]


def _synth(context: dict[str, Any] | None, *, bundle: bool) -> tuple[EcrSweeperStack, Template]:
    merged = {**CDK_JSON["context"], **(context or {})}
    if not bundle:
        # Skips the local bundling step for tests that only read the template.
        merged["aws:cdk:bundling-stacks"] = []
    app = App(context=merged)
    stack = build(app)
    app.synth()  # runs the cdk-nag validation plugin; raises on any unacknowledged finding
    return stack, Template.from_stack(stack)


@pytest.fixture(scope="session")
def default_stack() -> tuple[EcrSweeperStack, Template]:
    return synth()


@pytest.fixture(scope="session")
def template(default_stack: tuple[EcrSweeperStack, Template]) -> Template:
    return default_stack[1]


@pytest.fixture(scope="session")
def asset_dir(default_stack: tuple[EcrSweeperStack, Template]) -> Path:
    stack, template = default_stack
    [function] = template.find_resources("AWS::Lambda::Function").values()
    key = function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    outdir = Path(stack.node.root.outdir)  # type: ignore[attr-defined]
    return outdir / f"asset.{key}"


def templates(context: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Every stack of the app built from `context` (the sweeper's, and the reader's when asked
    for), by stack name, as CloudFormation templates."""
    from aws_cdk import Stack

    stack, _ = synth(context, bundle=False)
    return {
        child.stack_name: Template.from_stack(child).to_json()
        for child in stack.node.root.node.children
        if isinstance(child, Stack)
    }


SWEEPER_ROLE_ARN = "arn:aws:iam::111122223333:role/EcrSweeper-FunctionRole-AbCdEf"
# Every context that changes what the stacks grant, or which stacks there are: each is checked
# against the Service Authorization Reference, cdk-nag and cfn-lint.
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "stepfunctions": {"engine": "stepfunctions"},
    "regions": {"regions": ["eu-west-1", "us-east-1"]},
    "eksClusters": {"eksClusters": ["prod-1", "prod1", "staging_2"]},
    "consumerAccounts": {"consumerAccounts": ["210987654321", "310987654321"]},
    "organization": {"consumerAccounts": "organization", "organizationId": "o-a1b2c3d4e5"},
    "organization-without-id": {"consumerAccounts": "organization"},
    "readerStack": {"readerStack": True, "sweeperRoleArn": SWEEPER_ROLE_ARN},
    "readerStack-organization": {
        "readerStack": True,
        "sweeperRoleArn": SWEEPER_ROLE_ARN,
        "consumerAccounts": "organization",
        "organizationId": "o-a1b2c3d4e5",
        "regions": ["eu-west-1", "us-east-1"],
    },
    "vpc": {"vpcSubnetIds": ["subnet-0123456789abcdef0"], "vpcSecurityGroupIds": ["sg-0123456789abcdef0"]},
    "inspectorInUse-required": {"inspectorInUse": "required"},
    "protectInUse-false": {"protectInUse": False},
    "deleteOnDestroy": {"deleteOnDestroy": True},
    "stepfunctions-deleteOnDestroy": {"engine": "stepfunctions", "deleteOnDestroy": True},
}
