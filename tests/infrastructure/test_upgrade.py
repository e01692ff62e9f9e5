"""An upgrade of a deployed stack neither deletes nor rewrites the state it recorded.

CloudFormation deletes a resource that leaves the template, and its AWS::SSM::Parameter update
handler (aws-cloudformation-resource-providers-ssm, UpdateHandler -> updatePutParameterRequest)
puts the template's Value with Overwrite: true on any update of the resource, stack tags included.
So the parameters of the released template stay exactly as they were (no update: CloudFormation
calls no handler for a resource whose properties did not change), and the function keeps its state
in parameters that no template defines.

The released templates are the app's at 3c8c69a (the last commit before the state moved),
synthesized with `bundle=False` for the contexts in their names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.app import STACK_NAME
from tests.infrastructure.authorization import Renderer, overlaps, role_statements
from tests.infrastructure.conftest import templates

RELEASED = Path(__file__).parent / "released"
CONTEXTS: dict[str, dict[str, Any]] = {
    "default": {},
    "regions": {"regions": ["eu-west-1", "us-east-1"]},
    "stepfunctions": {"engine": "stepfunctions"},
}
# Resources that hold what a deployed stack recorded: its state parameters and the in-use cache.
STATEFUL = ("AWS::SSM::Parameter", "AWS::S3::Bucket")


def released(variant: str) -> dict[str, Any]:
    return json.loads((RELEASED / f"EcrSweeper-3c8c69a-{variant}.template.json").read_text())  # type: ignore[no-any-return]


def of_type(template: dict[str, Any], kinds: tuple[str, ...]) -> dict[str, Any]:
    return {logical: r for logical, r in template["Resources"].items() if r["Type"] in kinds}


@pytest.mark.parametrize("variant", CONTEXTS)
def test_the_update_keeps_every_state_parameter_unchanged_and_deletes_nothing_stateful(variant: str) -> None:
    # Given the released template and the new one, for the same context
    old, new = released(variant), templates(CONTEXTS[variant])[STACK_NAME]
    # Then every stateful resource of the old one is still there, under the same logical id
    for logical, resource in of_type(old, STATEFUL).items():
        assert logical in new["Resources"], f"{logical} would be deleted"
        assert new["Resources"][logical]["Type"] == resource["Type"]
        assert new["Resources"][logical].get("DeletionPolicy") == resource.get("DeletionPolicy")
    # and every old parameter is byte for byte what it was: CloudFormation updates nothing, so puts no value
    for logical, parameter in of_type(old, ("AWS::SSM::Parameter",)).items():
        assert new["Resources"][logical] == parameter


@pytest.mark.parametrize("variant", CONTEXTS)
def test_the_function_writes_state_only_where_no_template_defines_a_parameter(variant: str) -> None:
    # Given the new template
    new = templates(CONTEXTS[variant])[STACK_NAME]
    render = Renderer(new)
    defined = [render(p["Properties"]["Name"]) for p in of_type(new, ("AWS::SSM::Parameter",)).values()]
    arns = [f"arn:aws:ssm:us-east-1:123456789012:parameter{name}" for name in defined]
    functions = [r for r in new["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    for function in functions:
        variables = function["Properties"]["Environment"]["Variables"]
        # Then the parameters the function writes are none of them
        assert variables["CURSOR_PARAMETER"] not in defined and variables["FIRST_RUN_PARAMETER"] not in defined
        assert variables["CURSOR_PARAMETER"].startswith("/ecr-sweeper/EcrSweeper/state/")
        # and the legacy ones, which it only reads, are the released parameters
        assert {variables["LEGACY_CURSOR_PARAMETER"]["Ref"], variables["LEGACY_FIRST_RUN_PARAMETER"]["Ref"]} <= set(
            of_type(released(variant), ("AWS::SSM::Parameter",))
        )
    # and its role may write none of the stack's parameters
    written = [
        render(resource)
        for statements in role_statements(new).values()
        for statement in statements
        if "ssm:PutParameter" in statement["Action"]
        for resource in (statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]])
    ]
    assert written == ["arn:aws:ssm:us-east-1:123456789012:parameter/ecr-sweeper/EcrSweeper/state/*"]
    assert not [arn for arn in arns if any(overlaps(pattern, arn) for pattern in written)]
