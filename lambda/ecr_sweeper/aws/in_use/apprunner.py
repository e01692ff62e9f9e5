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
    token: str | None = None
    while True:
        page = source.call("list_services", MaxResults=APP_RUNNER_PAGE_SIZE, **({"NextToken": token} if token else {}))
        for summary in (page or {}).get("ServiceSummaryList", []):
            arn = summary["ServiceArn"]
            response = source.call("describe_service", gone=("ResourceNotFoundException",), ServiceArn=arn)
            if response is None:
                continue
            image = response["Service"].get("SourceConfiguration", {}).get("ImageRepository", {})
            source.in_use.add_reference(image.get("ImageIdentifier"), source.use(Protection.APP_RUNNER, arn))
        token = (page or {}).get("NextToken")
        if not token:
            return
