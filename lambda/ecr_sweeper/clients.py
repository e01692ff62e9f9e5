"""boto3 clients, built per invocation (never at import), with botocore's retries."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

# ECR publishes no rate for DescribeImages, ListTagsForResource or BatchDeleteImage, and each
# API throttles on its own; botocore's standard mode retries ThrottlingException with
# exponential backoff; ten attempts in all (up to ~20 s apart) ride out a burst.
RETRY_ATTEMPTS = 10
USER_AGENT_APP_ID = "ecr-sweeper"


def client(service: str, region: str | None = None, *, max_pool_connections: int = 10) -> Any:
    config = Config(
        retries={"mode": "standard", "total_max_attempts": RETRY_ATTEMPTS},
        max_pool_connections=max_pool_connections,
        user_agent_appid=USER_AGENT_APP_ID,
    )
    return boto3.session.Session().client(service, region_name=region, config=config)
