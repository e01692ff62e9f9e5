"""Run the handler as the deployed function runs: an assumed role, registered as a pull-time
update exclusion (what the stack's AWS::ECR::PullTimeUpdateExclusion does)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import boto3

SWEEPER_ROLE = "ecr-sweeper-FunctionRole"
OWN = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


@contextmanager
def sweeper_credentials(*, exclude: bool = True) -> Iterator[str]:
    """Inside a mock: set AWS_* credentials to a session of the sweeper role; yields the role ARN."""
    role_arn = boto3.client("iam", **OWN).create_role(RoleName=SWEEPER_ROLE, AssumeRolePolicyDocument="{}")["Role"][
        "Arn"
    ]
    credentials = boto3.client("sts", **OWN).assume_role(RoleArn=role_arn, RoleSessionName="ecr-sweeper")["Credentials"]
    if exclude:
        boto3.client("ecr", **OWN).register_pull_time_update_exclusion(principalArn=role_arn)
    names = {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(names)
    try:
        yield str(role_arn)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
