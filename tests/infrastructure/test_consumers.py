"""Central registries in the templates: the sweeper role may assume exactly the consumer accounts'
reader role, and the EcrSweeperReader stack (only with readerStack=true) creates that role, trusted
by the sweeper's role only, with exactly the in-use scan's reads."""

from __future__ import annotations

import inspect
import json
import re
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Match, Template

from infra.config import ContextError
from infra.reader import READER_STACK_NAME
from infra.role import CONSUMER_ACTIONS, IN_USE_SCOPED_ACTIONS, IN_USE_UNSCOPED_ACTIONS, ORGANIZATION_ACTIONS
from tests.infrastructure.conftest import synth

SWEEPER_ROLE_ARN = "arn:aws:iam::111122223333:role/EcrSweeper-FunctionRole-AbCdEf"
ORGANIZATION_ID = "o-a1b2c3d4e5"
CONSUMERS = ["210987654321", "310987654321", "410987654321"]
PARTITION = {"Ref": "AWS::Partition"}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def stacks(context: dict[str, Any]) -> list[Stack]:
    stack, _ = synth(context, bundle=False)
    return [child for child in stack.node.root.node.children if isinstance(child, Stack)]


def reader(context: dict[str, Any] | None = None) -> Template:
    [found] = [s for s in stacks({"readerStack": True, "sweeperRoleArn": SWEEPER_ROLE_ARN, **(context or {})})
               if s.stack_name == READER_STACK_NAME]  # fmt: skip
    return Template.from_stack(found)


def role_statements(template: Template) -> list[dict[str, Any]]:
    policies = template.find_resources("AWS::IAM::Policy").values()
    return [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]


def sweeper_statements(context: dict[str, Any]) -> list[dict[str, Any]]:
    _, template = synth(context, bundle=False)
    return role_statements(template)


def granted(statements: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [s for s in statements if any(a.startswith(prefix) for a in _list(s["Action"]))]


def role_arn(account: str, name: str = "ecr-sweeper-reader") -> dict[str, Any]:
    return {"Fn::Join": ["", ["arn:", PARTITION, f":iam::{account}:role/{name}"]]}


# --- one stack, unless asked for -----------------------------------------------------------------


def test_a_plain_synth_has_exactly_one_stack_and_readerstack_adds_the_reader() -> None:
    # Given no context, when the app is synthesized, then it has the sweeper's stack only
    assert [s.stack_name for s in stacks({})] == ["EcrSweeper"]
    # And with readerStack and sweeperRoleArn, it has the reader's stack too
    both = stacks({"readerStack": True, "sweeperRoleArn": SWEEPER_ROLE_ARN})
    assert sorted(s.stack_name for s in both) == ["EcrSweeper", "EcrSweeperReader"]


# --- the sweeper's role --------------------------------------------------------------------------


def test_without_consumer_accounts_the_sweeper_may_assume_no_role_nor_list_accounts(template: Template) -> None:
    # Given the default template, without consumer accounts
    statements = role_statements(template)

    # Then the sweeper's role may neither assume a role nor list accounts
    assert granted(statements, "sts:") == [] and granted(statements, "organizations:") == []
    # And the function's consumer variables are empty
    variables = template.find_resources("AWS::Lambda::Function")
    [function] = variables.values()
    environment = function["Properties"]["Environment"]["Variables"]
    assert environment["CONSUMER_ACCOUNTS"] == "" and environment["CONSUMER_ACCOUNTS_IGNORED"] == ""


def test_listed_consumers_let_the_sweeper_assume_exactly_their_reader_role_less_the_ignored() -> None:
    # Given three consumer accounts, one of them ignored, and a reader role name
    context = {"consumerAccounts": CONSUMERS, "consumerAccountsIgnored": [CONSUMERS[1]], "consumerRoleName": "reader"}

    # When the sweeper's stack is synthesized
    statements = sweeper_statements(context)

    # Then its role may assume the named reader role in the two accounts not ignored, without a condition
    [assume] = granted(statements, "sts:")
    assert _list(assume["Action"]) == ["sts:AssumeRole"] and "Condition" not in assume
    assert _list(assume["Resource"]) == [role_arn(CONSUMERS[0], "reader"), role_arn(CONSUMERS[2], "reader")]
    # And it may not list accounts
    # The accounts are named: nothing is listed at run time.
    assert granted(statements, "organizations:") == []
    # And the function's environment names the accounts, the role and the ignored account
    _, template = synth(context, bundle=False)
    [function] = template.find_resources("AWS::Lambda::Function").values()
    environment = function["Properties"]["Environment"]["Variables"]
    assert environment["CONSUMER_ACCOUNTS"] == ",".join(CONSUMERS)
    assert environment["CONSUMER_ROLE_NAME"] == "reader"
    assert environment["CONSUMER_ACCOUNTS_IGNORED"] == CONSUMERS[1]


def test_every_listed_consumer_ignored_grants_nothing() -> None:
    # Given one consumer account, also ignored
    # When the sweeper's stack is synthesized
    statements = sweeper_statements({"consumerAccounts": CONSUMERS[:1], "consumerAccountsIgnored": CONSUMERS[:1]})

    # Then its role may assume no role
    assert granted(statements, "sts:") == []


@pytest.mark.parametrize("organization_id", [None, ORGANIZATION_ID])
def test_organization_lets_the_sweeper_assume_the_reader_role_in_any_account_and_list_accounts(
    organization_id: str | None,
) -> None:
    # Given consumerAccounts organization, with or without an organization ID
    context: dict[str, Any] = {"consumerAccounts": "organization"}
    if organization_id:
        context["organizationId"] = organization_id

    # When the sweeper's stack is synthesized
    statements = sweeper_statements(context)

    # Then its role may assume the reader role in any account
    [assume] = granted(statements, "sts:")
    assert _list(assume["Resource"]) == [{"Fn::Join": ["", ["arn:", PARTITION, ":iam::*:role/ecr-sweeper-reader"]]}]
    # And only within the organization, when its ID is given
    # aws:ResourceOrgID: the organization of the role assumed, which STS AssumeRole supports ("IAM
    # now supports aws:ResourceAccount, aws:ResourceOrgPaths and aws:ResourceOrgID", AWS What's New,
    # 2022-04-27; IAM user guide, "AWS global condition context keys").
    expected = {"StringEquals": {"aws:ResourceOrgID": organization_id}} if organization_id else None
    assert assume.get("Condition") == expected
    # And it may list the organization's accounts, on any resource and without a condition
    # ListAccounts supports no resource-level permission (Service Authorization Reference, AWS
    # Organizations); Organizations is global, so no aws:RequestedRegion condition either.
    [listing] = granted(statements, "organizations:")
    assert _list(listing["Action"]) == list(ORGANIZATION_ACTIONS)
    assert listing["Resource"] == "*" and "Condition" not in listing


def test_the_granted_consumer_actions_match_what_the_adapters_call() -> None:
    # Given the source of the adapters that assume a role and list the accounts
    from ecr_sweeper.aws import clients
    from ecr_sweeper.aws.in_use import consumers

    # When the calls they make are read from it
    calls = set(re.findall(r'\("sts"\)\.(\w+)\(', inspect.getsource(clients.Clients.assumed)))

    # Then they are exactly the actions the sweeper's role is granted
    assert {"sts:" + "".join(w.title() for w in op.split("_")) for op in calls} == set(CONSUMER_ACTIONS)
    listing = set(re.findall(r'organizations\.pages\("(\w+)"', inspect.getsource(consumers)))
    assert {"organizations:" + "".join(w.title() for w in op.split("_")) for op in listing} == set(ORGANIZATION_ACTIONS)


# --- the EcrSweeperReader stack ------------------------------------------------------------------


def _role(template: Template) -> dict[str, Any]:
    [role] = template.find_resources("AWS::IAM::Role").values()
    return role["Properties"]  # type: ignore[no-any-return]


def test_the_reader_role_is_trusted_by_the_sweepers_role_only() -> None:
    # Given the reader stack's template, with a role name
    role = _role(reader({"consumerRoleName": "central-reader"}))

    # Then its role has that name
    assert role["RoleName"] == "central-reader"
    # And only the sweeper's role may assume it, with no managed policy
    # IAM user guide, "AWS JSON policy elements: Principal": in a role trust policy, a role ARN
    # names exactly that role; one statement, sts:AssumeRole only.
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"AWS": SWEEPER_ROLE_ARN}}
    ]
    assert "ManagedPolicyArns" not in role


@pytest.mark.parametrize("consumers", [[], "organization"])
def test_the_reader_role_trusts_the_sweeper_only_from_within_the_organization_when_given(
    consumers: list[str] | str,
) -> None:
    # Given the reader stack's template, with an organization ID, and with or without consumerAccounts organization
    role = _role(reader({"organizationId": ORGANIZATION_ID, "consumerAccounts": consumers}))
    # aws:PrincipalOrgID: the organization of the account of the principal making the request (IAM
    # user guide, "AWS global condition context keys").
    # Then the sweeper's role may assume the reader role only from within that organization
    [statement] = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": SWEEPER_ROLE_ARN}
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORGANIZATION_ID}}


def test_the_reader_role_may_do_exactly_the_in_use_scans_reads_in_the_swept_regions() -> None:
    # Given the reader stack's template for two regions
    statements = role_statements(reader({"regions": ["eu-west-1", "us-east-1"]}))

    # When the actions of its role are collected
    actions = [a for s in statements for a in _list(s["Action"])]

    # Then they are exactly the in-use scan's reads, the same constants as the sweeper's
    # The same constants as the sweeper's in-use scan: no copy that can drift, nothing of ECR.
    assert sorted(actions) == sorted([*IN_USE_UNSCOPED_ACTIONS, *IN_USE_SCOPED_ACTIONS])
    # And the reads on any resource are limited to the two regions
    [unscoped] = [s for s in statements if s["Resource"] == "*"]
    assert unscoped["Condition"] == {"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}}
    # And every scoped read is on this account's resources, except model packages, and nothing is of ECR
    rendered = json.dumps([s for s in statements if s["Resource"] != "*"])
    # Every scoped read is on this (the consumer's) account's resources, in those regions; model
    # packages in whichever account publishes them (a shared registry, AWS Marketplace).
    scopes = [scope for scoped in IN_USE_SCOPED_ACTIONS.values() for scope in scoped]
    assert rendered.count('{"Ref": "AWS::AccountId"}') == 2 * len([s for s in scopes if not s.any_account])
    assert rendered.count(":*:model-package/*") == 2
    assert "ecr:" not in json.dumps(statements)


def test_the_reader_template_needs_no_bootstrap_so_a_stackset_can_deploy_it() -> None:
    # Given the reader stack's template
    template = reader().to_json()

    # Then it has no parameter or rule, and one output: the reader role's ARN
    # No BootstrapVersion parameter or rule: a StackSet deploys to accounts never bootstrapped, and
    # takes a template without parameters to fill.
    assert "Parameters" not in template and "Rules" not in template
    assert set(template["Outputs"]) == {"ReaderRoleArn"}
    # And its resources are the role and its policy, besides CDK's metadata
    # The role and its policy; `cdk synth` adds CDK's own metadata resource, which CloudFormation knows.
    assert {r["Type"] for r in template["Resources"].values()} - {"AWS::CDK::Metadata"} == {
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
    }


def test_the_reader_stack_passes_cdk_nag_and_cfn_lint() -> None:
    # Given the reader stack for the organization, synthesized with the AwsSolutions plugin of cdk-nag
    from cfnlint.api import lint_all

    # Synthesized with the AwsSolutions plugin: synth raises on any unacknowledged finding.
    template = reader({"consumerAccounts": "organization", "organizationId": ORGANIZATION_ID})

    # When cfn-lint checks it, then it finds no error or warning
    matches = lint_all(json.dumps(template.to_json()))
    assert [str(m) for m in matches if m.rule.id[0] in "EW"] == []


def test_the_sweeper_stack_outputs_the_role_arn_that_sweeper_role_arn_takes(template: Template) -> None:
    # Given the default template
    # Then its RoleArn output is the ARN of the function's role, which sweeperRoleArn takes
    # The reader's sweeperRoleArn is the sweeper stack's RoleArn output: the function's own role.
    output = template.find_outputs("RoleArn")["RoleArn"]
    assert output["Value"]["Fn::GetAtt"] == [
        next(
            iter(
                template.find_resources(
                    "AWS::IAM::Role",
                    {"Properties": {"Description": Match.string_like_regexp("^ecr-sweeper: read ECR")}},
                )
            )
        ),
        "Arn",
    ]


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {"consumerAccounts": ["21098765432"]},
            "consumerAccounts=['21098765432'] is invalid: '21098765432' is not a 12-digit",
        ),
        # A number in cdk.json would lose an account's leading zeros.
        ({"consumerAccounts": [210987654321]}, "consumerAccounts=[210987654321] is invalid"),
        ({"consumerAccounts": "org"}, "context consumerAccounts='org' is invalid: 'org' is not a 12-digit account ID"),
        (
            {"consumerAccounts": "organization,210987654321"},
            "'organization' is not a 12-digit account ID; expected 12-digit account IDs, or organization",
        ),
        (
            {"consumerAccountsIgnored": "organization"},
            "consumerAccountsIgnored='organization' is invalid: 'organization' is not",
        ),
        ({"consumerRoleName": "team/reader"}, "consumerRoleName='team/reader' is invalid"),
        ({"consumerRoleName": ""}, "consumerRoleName='' is invalid"),
        # Consumer accounts are read by the in-use scan.
        ({"consumerAccounts": ["210987654321"], "protectInUse": False}, "consumerAccounts needs protectInUse=true"),
        ({"readerStack": True}, "readerStack=true needs sweeperRoleArn"),
        ({"readerStack": "yes"}, "readerStack='yes' is invalid"),
        ({"sweeperRoleArn": "EcrSweeper-FunctionRole"}, "sweeperRoleArn='EcrSweeper-FunctionRole' is invalid"),
        ({"organizationId": "r-abcd"}, "organizationId='r-abcd' is invalid"),
        (
            {"readerStack": True, "sweeperRoleArn": SWEEPER_ROLE_ARN, "consumerAccounts": "organization"},
            "needs organizationId",
        ),
    ],
)
def test_invalid_consumer_context_stops_synth_naming_the_key(context: dict[str, Any], message: str) -> None:
    # Given an invalid consumer or reader context
    # When the app is synthesized, then it stops, naming the key and what is wrong
    with pytest.raises(ContextError) as caught:
        synth(context, bundle=False)
    assert message in str(caught.value)
