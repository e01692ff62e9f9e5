"""boto3 clients, built per invocation (never at import), with botocore's retries."""

from __future__ import annotations

import functools
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config

# ECR publishes no rate for DescribeImages, ListTagsForResource or BatchDeleteImage, and each
# API throttles on its own; botocore's standard mode retries ThrottlingException with
# exponential backoff; ten attempts in all (up to ~20 s apart) ride out a burst.
RETRY_ATTEMPTS = 10
USER_AGENT_APP_ID = "ecr-sweeper"


@functools.cache
def _loader() -> botocore.loaders.Loader:
    # Service models are read once per process; a fresh session per client would parse them again
    # (about 0.1 s per client). Credentials are not cached here: each session resolves its own.
    return botocore.loaders.create_loader()


def client(
    service: str,
    region: str | None = None,
    *,
    max_pool_connections: int = 10,
    profile: str | None = None,
    endpoint_url: str | None = None,
    attempts: int = RETRY_ATTEMPTS,
) -> Any:
    """A client from the usual credential chain (or `profile`), as the AWS CLI would build it."""
    config = Config(
        retries={"mode": "standard", "total_max_attempts": attempts},
        max_pool_connections=max_pool_connections,
        user_agent_appid=USER_AGENT_APP_ID,
    )
    core = botocore.session.Session(profile=profile)
    core.register_component("data_loader", _loader())
    session = boto3.session.Session(botocore_session=core)
    return session.client(service, region_name=region, config=config, endpoint_url=endpoint_url)
