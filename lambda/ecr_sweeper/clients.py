"""The client factory: boto3 clients, built per invocation (never at import), with botocore's retries."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any

import boto3
import botocore
import botocore.loaders
import botocore.model
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ProfileNotFound

from ecr_sweeper.settings import ConfigError

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


@dataclass(frozen=True)
class Clients:
    """Builds every client of one run: the same credentials (`profile`, else the usual chain),
    the same endpoint (`endpoint_url`: a local emulator) and the same region (None: the
    configured one). `clients("ecr")` is a client; `in_region` swaps only the region."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None

    def __call__(self, service: str, **kwargs: Any) -> Any:
        return client(service, self.region, profile=self.profile, endpoint_url=self.endpoint_url, **kwargs)

    def in_region(self, region: str | None) -> Clients:
        return replace(self, region=region) if region else self

    @property
    def region_name(self) -> str | None:
        """The region the clients call: the given one, else the configuration's."""
        return (
            self.region
            or boto3.session.Session(botocore_session=botocore.session.Session(profile=self.profile)).region_name
        )


def ecr_regions() -> frozenset[str]:
    """The regions the installed SDK knows Amazon ECR in."""
    return frozenset(boto3.session.Session().get_available_regions("ecr"))


# Failures a person fixes in their set-up (exit code 2 of the command-line tool), and failures of
# the AWS calls themselves.
SETUP_ERRORS: tuple[type[Exception], ...] = (ProfileNotFound, NoCredentialsError)
AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)


# Response fields the safety rules read, by service and shape. botocore drops a field its model does
# not know without an error, so an older SDK would quietly turn a rule off.
REQUIRED_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "ecr": {
        "ImageDetail": ("subjectManifestDigest", "imageStatus", "lastRecordedPullTime", "artifactMediaType"),
        "DescribeImagesFilter": ("imageStatus",),
    },
    "ecs": {
        "Container": ("imageDigest",),
        "Service": ("currentServiceRevisions",),
        "ContainerImage": ("imageDigest",),
    },
}


class OutdatedSdk(ConfigError):
    """The installed botocore lacks a field a safety rule reads: nothing may be swept with it."""


def require_models() -> None:
    """Raise OutdatedSdk naming botocore's version and every field its models lack."""
    missing = []
    for service, shapes in REQUIRED_FIELDS.items():
        model = botocore.model.ServiceModel(_loader().load_service_model(service, "service-2"), service)
        for shape, fields in shapes.items():
            members = model.shape_for(shape).members
            missing += [f"{service} {shape}.{name}" for name in fields if name not in members]
    if missing:
        raise OutdatedSdk(
            f"botocore {botocore.__version__} does not know {', '.join(missing)}: it would drop these fields from "
            "responses and turn safety rules off silently. Install the botocore pinned in requirements.txt "
            "(the function bundles it)"
        )
