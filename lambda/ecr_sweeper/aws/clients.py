"""The client factory: boto3 clients, built per invocation (never at import), with botocore's retries."""

from __future__ import annotations

import functools
import os
import re
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal, cast, overload

import boto3
import botocore
import botocore.loaders
import botocore.model
import botocore.parsers
import botocore.session
import botocore.utils
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)

from ecr_sweeper.core.errors import describe_error
from ecr_sweeper.core.settings import ConfigError

if TYPE_CHECKING:
    # The type stubs of each service (development only: the function bundles no stub).
    from mypy_boto3_apprunner import AppRunnerClient
    from mypy_boto3_batch import BatchClient
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_eks import EKSClient
    from mypy_boto3_inspector2 import Inspector2Client
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_organizations import OrganizationsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_sts import STSClient

# ECR publishes no rate for DescribeImages, ListTagsForResource or BatchDeleteImage, and each
# API throttles on its own; botocore's standard mode retries ThrottlingException with
# exponential backoff; ten attempts in all (up to ~20 s apart) ride out a burst.
RETRY_ATTEMPTS = 10
# The command line's first call: long enough for a slow VPN, short enough not to look hung.
PREFLIGHT_CONNECT_TIMEOUT_S = 3.0
USER_AGENT_APP_ID = "ecr-sweeper"


@functools.cache
def _loader() -> botocore.loaders.Loader:
    # Service models are read once per process; a fresh session per client would parse them again
    # (about 0.1 s per client). Credentials are not cached here: each session resolves its own.
    return botocore.loaders.create_loader()


@dataclass(frozen=True)
class Credentials:
    """A role session's keys (sts:AssumeRole). They expire after an hour (AssumeRole's default
    DurationSeconds), so a factory holding them is built for one account's part of one region's
    in-use scan, and not kept beyond it."""

    access_key_id: str
    secret_access_key: str
    session_token: str


# The ISO 8601 form AWS writes: a date, a time, at most 6 digits of fraction and a zone (Z or an offset).
# datetime.fromisoformat reads exactly these as dateutil does; anything else goes to botocore's parser.
_AWS_ISO_8601 = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:?\d{2})")


def parse_timestamp(value: Any) -> datetime:
    """The response timestamp parser of every client: the same instants as botocore's default
    (`botocore.utils.parse_timestamp`), as timezone-aware datetimes in UTC.

    botocore's default builds a `dateutil.tz.tzlocal()` for each timestamp, and every later
    comparison or `isoformat()` of such a datetime calls back into Python; ECR returns one or two
    timestamps per image, so that was a fifth of the sweep's CPU (`make bench`, 100 repositories of
    1,000 images: bench/PROFILE.md). JSON services (ECR,
    ECS, Lambda...) send epoch seconds as numbers, read here with `datetime.fromtimestamp` in UTC;
    the ISO 8601 strings of the others with `datetime.fromisoformat`. Any other form (an RFC 822
    date, a value out of range) is botocore's own parse, then converted to UTC; a time without a
    zone stays naive, as botocore returns it.
    """
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, timezone.utc)
        if isinstance(value, str) and _AWS_ISO_8601.fullmatch(value):
            return datetime.fromisoformat(value).astimezone(timezone.utc)
    except (OverflowError, OSError, ValueError):
        pass
    parsed: datetime = botocore.utils.parse_timestamp(value)
    return parsed.astimezone(timezone.utc) if parsed.tzinfo is not None else parsed


@functools.cache
def _response_parser_factory() -> botocore.parsers.ResponseParserFactory:
    factory = botocore.parsers.ResponseParserFactory()
    factory.set_parser_defaults(timestamp_parser=parse_timestamp)
    return factory


def endpoint_data() -> botocore.session.Session:
    """A session that reads the SDK's endpoint data (which regions offer a service) through the
    process's loader, which already read it for the clients: a default session would parse
    endpoints.json again, about 0.05 s of CPU."""
    core = botocore.session.Session()
    core.register_component("data_loader", _loader())
    return core


def _session(profile: str | None) -> boto3.session.Session:
    core = botocore.session.Session(profile=profile)
    core.register_component("data_loader", _loader())
    core.register_component("response_parser_factory", _response_parser_factory())
    return boto3.session.Session(botocore_session=core)


class Sessions:
    """The sessions of one run's clients: one per profile, shared by every client of the run.

    A botocore session costs about 10 ms of CPU to build (it registers some 130 handlers), half of
    what building a client costs once the models are loaded; a sweep builds a dozen clients before
    its first call, and one more set per consumer account. A session is not thread-safe while it
    builds a client (boto/boto3#801: a race on its lazily registered components), so clients are
    built one at a time; the clients themselves are thread-safe. Kept for one run only: a session
    caches the credentials it resolved, and a warm Lambda sandbox must not hold them across
    invocations."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_profile: dict[str | None, boto3.session.Session] = {}

    def client(self, profile: str | None, service: str, **kwargs: Any) -> Any:
        with self._lock:
            session = self._by_profile.get(profile)
            if session is None:
                session = self._by_profile[profile] = _session(profile)
            return cast(Any, session).client(service, **kwargs)


def client(
    service: str,
    region: str | None = None,
    *,
    max_pool_connections: int = 10,
    profile: str | None = None,
    endpoint_url: str | None = None,
    attempts: int = RETRY_ATTEMPTS,
    connect_timeout: float = 60,
    credentials: Credentials | None = None,
    sessions: Sessions | None = None,
) -> Any:
    """A client from the usual credential chain (or `profile`), as the AWS CLI would build it; or,
    with `credentials`, from those (an assumed role's session). With `sessions`, built from the
    run's session of `profile`, else from a session of its own."""
    config = Config(
        retries={"mode": "standard", "total_max_attempts": attempts},
        max_pool_connections=max_pool_connections,
        # botocore has taken user_agent_appid since 1.31; the pinned botocore-stubs do not know it yet.
        user_agent_appid=USER_AGENT_APP_ID,  # type: ignore[call-arg]
        connect_timeout=connect_timeout,
    )
    keys = (
        {
            "aws_access_key_id": credentials.access_key_id,
            "aws_secret_access_key": credentials.secret_access_key,
            "aws_session_token": credentials.session_token,
        }
        if credentials
        else {}
    )
    arguments = {"region_name": region, "config": config, "endpoint_url": endpoint_url, **keys}
    if sessions is not None:
        return sessions.client(profile, service, **arguments)
    # The service is a name here; Clients.__call__ gives each name its typed client.
    return cast(Any, _session(profile)).client(service, **arguments)


@dataclass(frozen=True)
class Clients:
    """Builds every client of one run: the same credentials (`profile`, else the usual chain),
    the same endpoint (`endpoint_url`: a local emulator) and the same region (None: the
    configured one). `clients("ecr")` is a client; `in_region` swaps only the region."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    # An assumed role's session instead of the usual chain (see `assumed`).
    credentials: Credentials | None = field(default=None, repr=False)
    # Shared with every factory made from this one (`in_region`, `assumed`): one run's sessions.
    sessions: Sessions = field(default_factory=Sessions, repr=False, compare=False)

    @overload
    def __call__(self, service: Literal["ecr"], **kwargs: Any) -> ECRClient: ...
    @overload
    def __call__(self, service: Literal["ecs"], **kwargs: Any) -> ECSClient: ...
    @overload
    def __call__(self, service: Literal["lambda"], **kwargs: Any) -> LambdaClient: ...
    @overload
    def __call__(self, service: Literal["batch"], **kwargs: Any) -> BatchClient: ...
    @overload
    def __call__(self, service: Literal["apprunner"], **kwargs: Any) -> AppRunnerClient: ...
    @overload
    def __call__(self, service: Literal["sagemaker"], **kwargs: Any) -> SageMakerClient: ...
    @overload
    def __call__(self, service: Literal["eks"], **kwargs: Any) -> EKSClient: ...
    @overload
    def __call__(self, service: Literal["inspector2"], **kwargs: Any) -> Inspector2Client: ...
    @overload
    def __call__(self, service: Literal["organizations"], **kwargs: Any) -> OrganizationsClient: ...
    @overload
    def __call__(self, service: Literal["sts"], **kwargs: Any) -> STSClient: ...
    @overload
    def __call__(self, service: Literal["s3"], **kwargs: Any) -> S3Client: ...
    @overload
    def __call__(self, service: Literal["ssm"], **kwargs: Any) -> SSMClient: ...
    @overload
    def __call__(self, service: str, **kwargs: Any) -> Any: ...

    def __call__(self, service: str, **kwargs: Any) -> Any:
        return client(
            service,
            self.region_name,
            profile=self.profile,
            endpoint_url=self.endpoint_url,
            credentials=self.credentials,
            sessions=self.sessions,
            **kwargs,
        )

    def in_region(self, region: str | None) -> Clients:
        return replace(self, region=region) if region else self

    def assumed(self, role_arn: str, session_name: str) -> Clients:
        """The same factory (region, endpoint) with a session of `role_arn`, which this factory's own
        principal assumes now (sts:AssumeRole): clients in the role's account. Raises what STS
        answers (AccessDenied when the role does not exist or does not trust the caller)."""
        answer = self("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
        return replace(
            self,
            credentials=Credentials(answer["AccessKeyId"], answer["SecretAccessKey"], answer["SessionToken"]),
        )

    @functools.cached_property
    def region_name(self) -> str | None:
        """The region the clients call: the given one, else the configured one as the AWS CLI
        finds it: AWS_REGION, then AWS_DEFAULT_REGION, then the profile's (botocore alone reads
        only the last two). Found once per Clients: reading the profile's takes a session."""
        return (
            self.region
            or os.environ.get("AWS_REGION")
            or boto3.session.Session(botocore_session=botocore.session.Session(profile=self.profile)).region_name
        )

    def caller(self) -> tuple[str, str]:
        """(account, ARN) of the credentials, asked once with no retry and a short connect timeout,
        so that missing credentials or an endpoint that does not answer fail in seconds."""
        identity = self("sts", attempts=1, connect_timeout=PREFLIGHT_CONNECT_TIMEOUT_S).get_caller_identity()
        return str(identity["Account"]), str(identity["Arn"])


def ecr_regions() -> frozenset[str]:
    """The regions the installed SDK knows Amazon ECR in."""
    return frozenset(boto3.session.Session().get_available_regions("ecr"))


# Failures of the AWS calls themselves (exit code 1 of the command line, unless setup_problem
# names a set-up error).
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
            members = cast(botocore.model.StructureShape, model.shape_for(shape)).members
            missing += [f"{service} {shape}.{name}" for name in fields if name not in members]
    if missing:
        raise OutdatedSdk(
            f"botocore {botocore.__version__} does not know {', '.join(missing)}: it would drop these fields from "
            "responses and turn safety rules off silently. Install the botocore pinned in requirements.txt "
            "(the function bundles it)"
        )


# Rejections of credentials that a person fixes by logging in again.
_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}
_REJECTED = {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "AuthFailure"}


def setup_problem(error: BaseException, endpoint: str | None) -> str | None:
    """The one line that tells a person what to do about a set-up error (the command line exits 2);
    None when `error` is not one."""
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return "no AWS credentials: run `aws sso login` (or `aws configure`), or pass --profile NAME"
    if isinstance(error, SSOError | TokenRetrievalError):
        return f"your SSO session cannot be used ({error}): run `aws sso login`"
    if isinstance(error, ProfileNotFound):
        return f"{error}: list yours with `aws configure list-profiles`"
    if isinstance(error, NoRegionError):
        return "no region: pass --region, or set AWS_REGION (or a region in your profile)"
    if isinstance(error, EndpointConnectionError | ConnectTimeoutError | ConnectionClosedError):
        if endpoint:
            return f"nothing answers at {endpoint}: start the emulator there, or fix --endpoint-url"
        return f"cannot reach AWS ({describe_error(error)}): check your network, proxy or VPN"
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code in _EXPIRED:
            return f"your credentials have expired ({code}): run `aws sso login`, or refresh them"
        if code in _REJECTED:
            return f"your credentials were rejected ({code}): check --profile, or run `aws sso login`"
    return None
