"""App Runner: services whose image identifier is an ECR digest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecr_sweeper.aws.in_use.calls import Source
from ecr_sweeper.core.model import Protection

if TYPE_CHECKING:
    from mypy_boto3_apprunner import AppRunnerClient

# App Runner ListServices: MaxResults 1..20, and boto3 has no paginator for it.
APP_RUNNER_PAGE_SIZE = 20


def scan_app_runner(source: Source[AppRunnerClient]) -> None:
    # boto3 has no paginator for App Runner's ListServices: its pages are followed by hand.
    arns: list[str] = []
    token: str | None = None
    while True:
        page = source.call("list_services", MaxResults=APP_RUNNER_PAGE_SIZE, **({"NextToken": token} if token else {}))
        arns += [summary["ServiceArn"] for summary in (page or {}).get("ServiceSummaryList", [])]
        token = (page or {}).get("NextToken")
        if not token:
            break
    described = source.each(
        arns, lambda arn: source.call("describe_service", gone=("ResourceNotFoundException",), ServiceArn=arn)
    )
    for arn, response in zip(arns, described, strict=True):
        if response is None:
            continue
        image = response["Service"].get("SourceConfiguration", {}).get("ImageRepository", {})
        source.in_use.add_reference(image.get("ImageIdentifier"), source.use(Protection.APP_RUNNER, arn))
