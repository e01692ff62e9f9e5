"""The EcrSweeperReader stack deploys with the real CDK CLI into an account that was never
bootstrapped, as in a consumer account (docs/scale/central-registries.md), and creates the reader role
that the sweeper's role, and only it, may assume."""

from __future__ import annotations

import json
from pathlib import Path

from infra.reader import READER_STACK_NAME
from tests.e2e.deploy import ACCOUNT, local_deploy

SWEEPER_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/EcrSweeper-FunctionRole-AbCdEf"


def test_the_reader_stack_deploys_without_a_bootstrap_and_creates_the_trusted_role(tmp_path: Path) -> None:
    # Given an account with no CDK bootstrap stack, when only the reader stack is deployed
    with local_deploy(
        tmp_path / "cdk.out",
        "readerStack=true",
        f"sweeperRoleArn={SWEEPER_ROLE_ARN}",
        bootstrap=False,
        stacks=(READER_STACK_NAME,),
    ) as deployed:
        cloudformation = deployed["client"]("cloudformation")
        role = deployed["client"]("iam").get_role(RoleName="ecr-sweeper-reader")["Role"]
        stacks = {s["StackName"]: s["StackStatus"] for s in cloudformation.describe_stacks()["Stacks"]}

    # Then the reader stack alone is created, and its role trusts the sweeper's role only
    assert stacks == {READER_STACK_NAME: "CREATE_COMPLETE"}
    document = role["AssumeRolePolicyDocument"]
    trust = json.loads(document) if isinstance(document, str) else document
    assert trust["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"AWS": SWEEPER_ROLE_ARN}}
    ]
