"""The emulator's sts:AssumeRole and organizations:ListAccounts behave as AWS does: moto hands out
credentials for any role ARN, and lists no account to a member account or outside an organization
(emulator/identity.py, emulator/organizations.py)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from emulator.identity import OWN, OWN_ACCOUNT, SWEEPER_ROLE, account_session, trust_policy

SWEEPER_ROLE_ARN = f"arn:aws:iam::{OWN_ACCOUNT}:role/{SWEEPER_ROLE}"
CONSUMER = "210987654321"


def assume(role_arn: str) -> Any:
    """The sweeper's role (the session the `ecr` fixture sets) assumes `role_arn`."""
    return boto3.client("sts", region_name="us-east-1").assume_role(RoleArn=role_arn, RoleSessionName="probe")


def role_in(account: str, name: str, trust: str) -> str:
    return str(
        account_session(account).client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    )


def test_assume_role_refuses_a_role_that_does_not_exist(ecr: Any) -> None:
    # Given no role named missing in the consumer account
    # IAM user guide, "Troubleshoot IAM roles": AssumeRole answers AccessDenied when the role is missing.
    # When the sweeper's role assumes it
    with pytest.raises(ClientError) as refused:
        assume(f"arn:aws:iam::{CONSUMER}:role/missing")

    # Then it is refused with AccessDenied (HTTP 403), naming the action and the role
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert f"is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{CONSUMER}:role/missing" in str(
        refused.value
    )


def test_assume_role_follows_the_roles_trust_policy(ecr: Any) -> None:
    # Given three roles in the consumer account: one that trusts the sweeper's role, one that trusts the sweeper's
    # account, and one that trusts another role
    # A role trust policy's Principal names who may assume the role: a role ARN, an account ID or its
    # root, which delegates to the account (IAM user guide, "AWS JSON policy elements: Principal").
    trusted = role_in(CONSUMER, "trusts-the-sweeper", trust_policy(SWEEPER_ROLE_ARN))
    by_account = role_in(CONSUMER, "trusts-the-account", trust_policy(OWN_ACCOUNT))
    other = role_in(CONSUMER, "trusts-someone-else", trust_policy(f"arn:aws:iam::{OWN_ACCOUNT}:role/other"))

    # When the sweeper's role assumes each of the first two, then the session acts in the consumer account
    for role in (trusted, by_account):
        credentials = assume(role)["Credentials"]
        identity = boto3.client(
            "sts",
            region_name="us-east-1",
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        ).get_caller_identity()
        # The session acts in the role's account.
        assert identity["Account"] == CONSUMER
    # And assuming the third is refused
    with pytest.raises(ClientError, match="AccessDenied"):
        assume(other)


def test_assume_role_checks_the_principal_org_id_condition(ecr: Any) -> None:
    # Given two roles that trust the sweeper's role only within an organization: the one the sweeper's account manages,
    # and another
    # aws:PrincipalOrgID is the organization of the calling principal's account (IAM user guide, "AWS
    # global condition context keys"): the sweeper's account manages this one.
    organization = boto3.client("organizations", **OWN).create_organization(FeatureSet="ALL")["Organization"]["Id"]
    ours = role_in(CONSUMER, "ours", trust_policy(SWEEPER_ROLE_ARN, organization=organization))
    theirs = role_in(CONSUMER, "theirs", trust_policy(SWEEPER_ROLE_ARN, organization="o-0000000000"))

    # When the sweeper's role assumes each, then the first is allowed and the second refused
    assert assume(ours)["Credentials"]["AccessKeyId"]
    with pytest.raises(ClientError, match="AccessDenied"):
        assume(theirs)


def test_list_accounts_answers_the_management_account_and_delegated_administrators_only(ecr: Any) -> None:
    # Given the sweeper's account, outside any organization
    organizations = boto3.client("organizations", **OWN)
    # Outside an organization
    # When it lists the accounts, then it is refused as not in an organization
    with pytest.raises(ClientError, match="AWSOrganizationsNotInUseException"):
        organizations.list_accounts()
    # And once it manages an organization with one member account
    organizations.create_organization(FeatureSet="ALL")
    member = organizations.create_account(AccountName="m", Email="m@example.com")["CreateAccountStatus"]["AccountId"]

    # Then the accounts are listed only as Organizations allows it:
    # The management account lists every account, itself included
    assert {a["Id"] for a in organizations.list_accounts()["Accounts"]} == {OWN_ACCOUNT, member}
    # A member account may not (Organizations API reference, ListAccounts) ...
    as_member = account_session(member).client("organizations")
    with pytest.raises(ClientError, match="AccessDeniedException"):
        as_member.list_accounts()
    # ... unless it is a delegated administrator
    organizations.register_delegated_administrator(AccountId=member, ServicePrincipal="ssm.amazonaws.com")
    assert {a["Id"] for a in as_member.list_accounts()["Accounts"]} == {OWN_ACCOUNT, member}
