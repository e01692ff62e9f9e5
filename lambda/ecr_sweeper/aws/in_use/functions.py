"""Lambda: every image function version, by ImageUri and by ResolvedImageUri, the digest a tag
resolved to when the code was set (aws-actions/aws-lambda-deploy#68). A published version is described
once, then answered from the facts of earlier runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ecr_sweeper.aws.in_use.calls import Source
from ecr_sweeper.aws.in_use.values import FunctionCode
from ecr_sweeper.core.model import Protection

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient


# The order of the sources is the order of the reasons: a digest that several workloads use is
# reported with the first one found, so the most lasting need (a service) comes before a task.
def scan_lambda(source: Source[LambdaClient]) -> None:
    functions = [
        function
        for function in source.pages("list_functions", "Functions", FunctionVersion="ALL")
        if function.get("PackageType") == "Image"
    ]
    codes = source.each(functions, lambda function: scan_lambda_code(source, function))
    for function, code in zip(functions, codes, strict=True):
        if code is None:
            continue
        use = source.use(Protection.LAMBDA, function["FunctionArn"])
        source.in_use.add_reference(code.image_uri, use)
        # The digest the tag resolved to when the code was set: what a cold start pulls.
        source.in_use.add_reference(code.resolved_image_uri, use)


def scan_lambda_code(source: Source[LambdaClient], function: Mapping[str, Any]) -> FunctionCode | None:
    """What a listed version runs: `$LATEST` is read every run (each code update changes it); a
    published version once, then from the facts of earlier runs. None: deleted since the listing."""
    name, version = function["FunctionName"], function["Version"]
    fingerprint = f"{function.get('CodeSha256')} {function.get('LastModified')}"
    published = version != "$LATEST" and bool(function.get("CodeSha256") and function.get("LastModified"))
    known = source.facts.code_of(f"{name}:{version}", fingerprint) if published else None
    if known is not None:
        return known
    # A version deleted between the listing and this call is simply gone.
    response = source.call("get_function", gone=("ResourceNotFoundException",), FunctionName=name, Qualifier=version)
    if response is None:
        return None
    code = response.get("Code", {})
    found = FunctionCode(fingerprint, code.get("ImageUri"), code.get("ResolvedImageUri"))
    if published:
        source.facts.learn_code(f"{name}:{version}", found)
    return found
