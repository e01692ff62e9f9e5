"""Who calls: run the handler as the deployed function runs (an assumed role, registered as a
pull-time update exclusion, what the stack's AWS::ECR::PullTimeUpdateExclusion does), act in
other accounts, and correct moto's sts:AssumeRole, which hands out credentials for any role ARN,
existing or not, trusting the caller or not."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from moto.core.exceptions import AccessDeniedError
from moto.core.responses import ActionResult
from moto.iam.models import iam_backends
from moto.sts.models import sts_backends
from moto.sts.responses import TokenResponse

SWEEPER_ROLE = "ecr-sweeper-FunctionRole"
OWN_ACCOUNT = "123456789012"
OWN = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
# What AWS Organizations creates in each account it creates, trusting the management account
# (Organizations user guide, "Accessing a member account that has a management account access role").
ADMIN_ROLE = "OrganizationAccountAccessRole"


def trust_policy(*principals: str, organization: str | None = None) -> str:
    """A role trust policy: these AWS principals (account IDs, account roots or role ARNs) may assume
    the role, from the organization `organization` when given (aws:PrincipalOrgID)."""
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "sts:AssumeRole"}
    if organization:
        statement["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": organization}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@contextmanager
def sweeper_credentials(*, exclude: bool = True) -> Iterator[str]:
    """Inside a mock: set AWS_* credentials to a session of the sweeper role; yields the role ARN.
    The deployed role trusts lambda.amazonaws.com; here the test, in the same account, assumes it."""
    role_arn = boto3.client("iam", **OWN).create_role(
        RoleName=SWEEPER_ROLE, AssumeRolePolicyDocument=trust_policy(f"arn:aws:iam::{OWN_ACCOUNT}:root")
    )["Role"]["Arn"]
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


def account_session(account: str, region: str = "us-east-1") -> boto3.Session:
    """An administrator's session in `account`, through its OrganizationAccountAccessRole (created
    here, trusting this test's own account, unless Organizations created it already)."""
    iam = iam_backends[account]["aws"]
    if ADMIN_ROLE not in {role.name for role in iam.roles.values()}:
        iam.create_role(
            role_name=ADMIN_ROLE,
            assume_role_policy_document=trust_policy(f"arn:aws:iam::{OWN_ACCOUNT}:root"),
            path="/",
            permissions_boundary=None,
            description="",
            tags=[],
            max_session_duration="3600",
        )
    credentials = boto3.client("sts", **OWN).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{ADMIN_ROLE}", RoleSessionName="test-admin"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


# --- the correction: sts:AssumeRole as IAM evaluates it ------------------------------------------


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _caller(response: TokenResponse) -> tuple[str, str | None]:
    """(account, role ARN or None) of the principal that signed the request."""
    account = response.current_account
    assumed = sts_backends[account][response.partition].get_assumed_role_from_access_key(response.get_access_key())
    return account, (assumed.role_arn if assumed else None)


def _organization_of(account: str) -> str | None:
    from moto.organizations.models import organizations_backends

    management, partition = organizations_backends.master_accounts.get(account, (account, "aws"))
    organization = organizations_backends[management][partition].org
    return organization.id if organization is not None else None


def _names(principal: str, account: str, role_arn: str | None) -> bool:
    """Whether a trust policy's AWS principal names the caller: "*", its account (12 digits or the
    account root ARN, which delegates to the account), or its role (IAM user guide, "AWS JSON policy
    elements: Principal")."""
    if principal in ("*", account, f"arn:aws:iam::{account}:root"):
        return True
    if role_arn is None or not principal.startswith(f"arn:aws:iam::{account}:role/"):
        return False
    return principal.rpartition("/")[2] == role_arn.rpartition("/")[2]


def _conditions_hold(conditions: dict[str, Any], account: str) -> bool:
    """The one condition the sweeper's trust policies use: StringEquals aws:PrincipalOrgID (IAM
    user guide, "AWS global condition context keys"). Any other condition is not in the request
    context here, so it does not hold: the emulator never grants what it cannot check."""
    for operator, keys in conditions.items():
        for key, expected in keys.items():
            if operator != "StringEquals" or key != "aws:PrincipalOrgID":
                return False
            if _organization_of(account) not in _list(expected):
                return False
    return True


def trusts(document: Any, account: str, role_arn: str | None) -> bool:
    """Whether a role's trust policy lets the caller (account, role ARN or None) call sts:AssumeRole."""
    policy = json.loads(document) if isinstance(document, str) else document
    for statement in _list(policy.get("Statement", [])):
        actions = _list(statement.get("Action", []))
        if statement.get("Effect") != "Allow" or not {"sts:AssumeRole", "sts:*", "*"} & set(actions):
            continue
        principal = statement.get("Principal")
        principals = ["*"] if principal == "*" else _list((principal or {}).get("AWS", []))
        if any(_names(p, account, role_arn) for p in principals) and _conditions_hold(
            statement.get("Condition", {}), account
        ):
            return True
    return False


def assume_role(self: TokenResponse) -> ActionResult:
    """AWS refuses AccessDenied when the role does not exist or its trust policy does not allow the
    caller (IAM user guide, "Troubleshoot IAM roles": "I can't assume a role"); moto hands out
    credentials for any ARN."""
    role_arn = str(self._get_param("RoleArn"))
    target = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
    account, caller_role = _caller(self)
    roles = {role.arn: role for role in iam_backends[target][self.partition].roles.values()} if target else {}
    role = roles.get(role_arn)
    if role is None or not trusts(role.assume_role_policy_document, account, caller_role):
        caller = caller_role or f"arn:aws:iam::{account}:user/moto"
        # HTTP 403, AccessDenied: "User: <caller> is not authorized to perform: sts:AssumeRole on resource: <role>".
        raise AccessDeniedError(caller, f"sts:AssumeRole on resource: {role_arn}")
    return _original_assume_role(self)


_original_assume_role = TokenResponse.assume_role


def _install() -> None:
    """Called by emulator.install(), once, under its lock (assigning again would change nothing)."""
    TokenResponse.assume_role = assume_role  # type: ignore[method-assign]
