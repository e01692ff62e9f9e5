"""A stand-in for AWS App Runner's service API, which moto (5.2.5) does not emulate at all.

Source: the botocore service model `apprunner` 2020-05-15
(botocore/data/apprunner/2020-05-15/service-2.json.gz) and the App Runner API reference,
https://docs.aws.amazon.com/apprunner/latest/api/. Member names, required members, limits (read
from the model itself, so they cannot drift from what botocore sends) and error codes follow them.

Operations, JSON 1.0 protocol (`X-Amz-Target: AppRunner.<Operation>`): CreateService,
DescribeService, ListServices, UpdateService, DeleteService. State is per account and region, in
`apprunner_backends` (a moto `BackendDict`), so `mock_aws()` and `/moto-api/reset` clear it.

Public API
- `emulator.install()` registers the service with moto, in-process (`mock_aws`) and for a
  `ThreadedMotoServer` in this process alike (this module's `_install()`).
- `backend(region, account)`: the `AppRunnerBackend` holding that account's services in that region
  (`.services`: ARN -> `AppRunnerService`, whose `image_identifier` is what it runs).
- `AppRunnerResponse`: the request handler. Its methods `create_service`, `describe_service`,
  `list_services`, `update_service` and `delete_service` are plain methods looked up per request,
  so a test makes an operation fail by monkeypatching one::

      def denied(self: AppRunnerResponse) -> ActionResult:
          raise JsonRESTError("AccessDeniedException", "not authorized to perform: apprunner:ListServices")

      monkeypatch.setattr(AppRunnerResponse, "list_services", denied)

  (`moto.core.exceptions.JsonRESTError` carries any code; a `ServiceException` is serialized through
  the App Runner model, which has no AccessDeniedException or ThrottlingException.)

Choices, where the service cannot be copied or the sources disagree
- Operations complete at once: CreateService and UpdateService answer Status RUNNING, DeleteService
  answers DELETED; the service answers OPERATION_IN_PROGRESS and gets there later. Tests want the
  end state, not a wait loop.
- A deleted service is gone for DescribeService, UpdateService and DeleteService
  (ResourceNotFoundException), and its name is free again. The service may still describe it as
  DELETED for a while.
- ListServices without MaxResults answers one page of at most 20 (the model's maximum), although the
  model documents "all available results in a single response": the service answers a page and a
  NextToken (aws/aws-cli#8124, #9399; boto/botocore#3116; aws/aws-sdk#599), and botocore has no
  paginator for it, so callers must follow NextToken themselves. As there, deleted services still
  take their place in a page and are then left out, so a page can be short, even empty, and still
  carry a NextToken. Pages run newest first.
- Validation failures answer InvalidRequestException with the usual "1 validation error detected"
  message: the model declares no ValidationException for these operations. Patterns must match the
  whole value. A malformed ARN is an invalid request; a well-formed unknown one is not found.
- Beyond ServiceName, SourceConfiguration and ServiceArn, members are checked only for being
  structures, then echoed where the Service shape has them (Tags are dropped), never acted on. An
  ECR source is not required to name an AccessRoleArn.
"""

from __future__ import annotations

import base64
import binascii
import importlib.util
import json
import re
import string
import sys
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import ModuleType
from typing import Any

from botocore.loaders import create_loader
from botocore.model import ServiceModel
from moto import backend_index
from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import JsonRESTError, ServiceException
from moto.core.responses import ActionResult, BaseResponse
from moto.moto_api._internal import mock_random

SERVICE = "apprunner"
DEFAULT_ACCOUNT = "123456789012"
# moto resolves a service name to the module `moto.<name>` and its `<name>_backends` attribute.
MOTO_MODULE = f"moto.{SERVICE}"
URL_BASE = r"https?://apprunner\.(.+)\.amazonaws\.com"

MODEL = ServiceModel(create_loader().load_service_model(SERVICE, "service-2"), SERVICE)


def _limits(shape: str) -> dict[str, Any]:
    return dict(MODEL.shape_for(shape).metadata)


_NAME = _limits("ServiceName")
_PAGE = _limits("ServiceMaxResults")
_IMAGE = _limits("ImageIdentifier")
_ARN = _limits("AppRunnerResourceArn")
IMAGE_REPOSITORY_TYPES: tuple[str, ...] = tuple(MODEL.shape_for("ImageRepositoryType").enum)

MIN_PAGE: int = _PAGE["min"]
MAX_PAGE: int = _PAGE["max"]
DEFAULT_PAGE = MAX_PAGE

# The model's documented defaults (InstanceConfiguration: "Default: 1 vCPU", "Default: 2 GB"), spelled
# as the service reports them.
DEFAULT_CPU = "1024"
DEFAULT_MEMORY = "2048"


class InvalidRequestException(ServiceException):
    code = "InvalidRequestException"


class ResourceNotFoundException(ServiceException):
    code = "ResourceNotFoundException"


def _constraint(value: Any, member: str, constraint: str) -> InvalidRequestException:
    return InvalidRequestException(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
    )


def _required(params: dict[str, Any], key: str, member: str) -> Any:
    value = params.get(key)
    if value is None:
        raise _constraint(None, member, "Member must not be null")
    return value


def _structure(params: dict[str, Any], key: str) -> dict[str, Any]:
    """An optional structure member; absent reads as empty."""
    value = params.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _constraint(value, key[0].lower() + key[1:], "Member must be a structure")
    return value


def _string(value: Any, member: str, limits: dict[str, Any]) -> str:
    if not isinstance(value, str):
        raise _constraint(value, member, "Member must be a string")
    if len(value) < limits.get("min", 0):
        raise _constraint(value, member, f"Member must have length greater than or equal to {limits['min']}")
    if "max" in limits and len(value) > limits["max"]:
        raise _constraint(value, member, f"Member must have length less than or equal to {limits['max']}")
    # Anchored on purpose: the model's patterns leave anchoring open, and a test emulator that lets
    # a doubtful value through hides a caller's bug.
    if "pattern" in limits and not re.fullmatch(limits["pattern"], value):
        raise _constraint(value, member, f"Member must satisfy regular expression pattern: {limits['pattern']}")
    return value


def _random_id() -> str:
    return mock_random.uuid4().hex


def _service_url(region: str) -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(mock_random.choice(alphabet) for _ in range(10)) + f".{region}.awsapprunner.com"


@dataclass
class AppRunnerService:
    """One App Runner service, as the Service shape describes it."""

    name: str
    service_id: str
    arn: str
    url: str
    source: dict[str, Any]
    instance: dict[str, Any]
    auto_scaling: dict[str, Any]
    network: dict[str, Any]
    optional: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    updated_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    deleted_at: datetime | None = None
    status: str = "RUNNING"

    @property
    def image_identifier(self) -> str | None:
        return (self.source.get("ImageRepository") or {}).get("ImageIdentifier")

    def describe(self) -> dict[str, Any]:
        service: dict[str, Any] = {
            **self.summary(),
            "SourceConfiguration": self.source,
            "InstanceConfiguration": self.instance,
            "AutoScalingConfigurationSummary": self.auto_scaling,
            "NetworkConfiguration": self.network,
            **self.optional,
        }
        if self.deleted_at is not None:
            service["DeletedAt"] = self.deleted_at
        return service

    def summary(self) -> dict[str, Any]:
        return {
            "ServiceName": self.name,
            "ServiceId": self.service_id,
            "ServiceArn": self.arn,
            "ServiceUrl": self.url,
            "CreatedAt": self.created_at,
            "UpdatedAt": self.updated_at,
            "Status": self.status,
        }


def _source(params: dict[str, Any], account: str, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """SourceConfiguration: exactly one of CodeRepository and ImageRepository (API reference)."""
    source = _structure(params, "SourceConfiguration")
    kinds = [kind for kind in ("CodeRepository", "ImageRepository") if source.get(kind) is not None]
    if previous is None and len(kinds) != 1:
        raise InvalidRequestException(
            "SourceConfiguration must contain exactly one of CodeRepository or ImageRepository"
        )
    if previous is not None:
        was = "ImageRepository" if previous.get("ImageRepository") else "CodeRepository"
        if any(kind != was for kind in kinds):
            raise InvalidRequestException(f"You can't switch the service's source from {was} to another kind")
    if source.get("ImageRepository") is not None:
        image = _structure(source, "ImageRepository")
        _string(_required(image, "ImageIdentifier", "imageIdentifier"), "imageIdentifier", _IMAGE)
        kind = _required(image, "ImageRepositoryType", "imageRepositoryType")
        if kind not in IMAGE_REPOSITORY_TYPES:
            raise _constraint(
                kind,
                "imageRepositoryType",
                f"Member must satisfy enum value set: [{', '.join(IMAGE_REPOSITORY_TYPES)}]",
            )
    merged = {**(previous or {}), **{key: value for key, value in source.items() if value is not None}}
    if "AutoDeploymentsEnabled" not in merged:
        merged["AutoDeploymentsEnabled"] = _auto_deploys_by_default(merged, account)
    return merged


def _auto_deploys_by_default(source: dict[str, Any], account: str) -> bool:
    """The model's documented default: off for ECR Public and for ECR in another account."""
    image = source.get("ImageRepository")
    if image is None:
        return True
    return bool(image["ImageRepositoryType"] == "ECR" and image["ImageIdentifier"].startswith(f"{account}."))


class AppRunnerBackend(BaseBackend):
    """The App Runner services of one account in one region."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        # Creation order, deleted services included: ListServices pages over these (see the module docstring).
        self.records: list[AppRunnerService] = []
        self.services: dict[str, AppRunnerService] = {}
        # ThreadedMotoServer serves requests on several threads; a name must stay unique.
        self.lock = threading.RLock()

    @property
    def _url_module(self) -> Any:
        # BaseBackend derives `<package>.urls` from the class's module, which a module outside moto lacks.
        return sys.modules[__name__]

    def create_service(self, params: dict[str, Any]) -> AppRunnerService:
        name = _string(_required(params, "ServiceName", "serviceName"), "serviceName", _NAME)
        _required(params, "SourceConfiguration", "sourceConfiguration")
        source = _source(params, self.account_id)
        with self.lock:
            if any(service.name == name for service in self.services.values()):
                raise InvalidRequestException(f"Service with the provided name already exists: {name}")
            service_id = _random_id()
            service = AppRunnerService(
                name=name,
                service_id=service_id,
                arn=f"arn:{self.partition}:apprunner:{self.region_name}:{self.account_id}:service/{name}/{service_id}",
                url=_service_url(self.region_name),
                source=source,
                instance={"Cpu": DEFAULT_CPU, "Memory": DEFAULT_MEMORY, **_structure(params, "InstanceConfiguration")},
                auto_scaling=self._auto_scaling(params.get("AutoScalingConfigurationArn")),
                network=_network(_structure(params, "NetworkConfiguration")),
                optional={
                    key: params[key]
                    for key in ("EncryptionConfiguration", "HealthCheckConfiguration", "ObservabilityConfiguration")
                    if params.get(key) is not None
                },
            )
            self.records.append(service)
            self.services[service.arn] = service
            return service

    def describe_service(self, arn: Any) -> AppRunnerService:
        _string(arn, "serviceArn", _ARN)
        with self.lock:
            service = self.services.get(arn)
        if service is None:
            raise ResourceNotFoundException(f"No service found with the ARN {arn}")
        return service

    def list_services(self, max_results: Any, next_token: Any) -> tuple[list[AppRunnerService], str | None]:
        if max_results is None:
            size = DEFAULT_PAGE
        elif isinstance(max_results, bool) or not isinstance(max_results, int):
            raise _constraint(max_results, "maxResults", "Member must be an integer")
        elif max_results < MIN_PAGE:
            raise _constraint(max_results, "maxResults", f"Member must have value greater than or equal to {MIN_PAGE}")
        elif max_results > MAX_PAGE:
            raise _constraint(max_results, "maxResults", f"Member must have value less than or equal to {MAX_PAGE}")
        else:
            size = max_results
        with self.lock:
            newest_first = self.records[::-1]
        start = 0 if next_token is None else self._after(next_token, newest_first)
        window = newest_first[start : start + size]
        token = self._token(window[-1]) if start + size < len(newest_first) else None
        return [service for service in window if service.status != "DELETED"], token

    def update_service(self, params: dict[str, Any]) -> AppRunnerService:
        with self.lock:
            service = self.describe_service(_required(params, "ServiceArn", "serviceArn"))
            if params.get("SourceConfiguration") is not None:
                service.source = _source(params, self.account_id, previous=service.source)
            if params.get("InstanceConfiguration") is not None:
                service.instance = {**service.instance, **_structure(params, "InstanceConfiguration")}
            if params.get("AutoScalingConfigurationArn") is not None:
                service.auto_scaling = self._auto_scaling(params["AutoScalingConfigurationArn"])
            if params.get("NetworkConfiguration") is not None:
                service.network = _network(_structure(params, "NetworkConfiguration"))
            for key in ("HealthCheckConfiguration", "ObservabilityConfiguration"):
                if params.get(key) is not None:
                    service.optional[key] = params[key]
            service.updated_at = datetime.now(timezone.utc)
        return service

    def delete_service(self, arn: Any) -> AppRunnerService:
        with self.lock:
            service = self.describe_service(arn)
            del self.services[service.arn]
            service.status = "DELETED"
            service.deleted_at = service.updated_at = datetime.now(timezone.utc)
        return service

    def _auto_scaling(self, arn: str | None) -> dict[str, Any]:
        if arn is None:
            prefix = f"arn:{self.partition}:apprunner:{self.region_name}:{self.account_id}"
            arn = f"{prefix}:autoscalingconfiguration/DefaultConfiguration/1/{'0' * 31}1"
        _string(arn, "autoScalingConfigurationArn", _ARN)
        parts = arn.split(":", 5)[-1].split("/")
        if parts[0] != "autoscalingconfiguration" or len(parts) < 2:
            raise InvalidRequestException(f"{arn} is not an auto scaling configuration ARN")
        summary: dict[str, Any] = {"AutoScalingConfigurationArn": arn, "AutoScalingConfigurationName": parts[1]}
        if len(parts) > 2 and parts[2].isdigit():
            summary["AutoScalingConfigurationRevision"] = int(parts[2])
        return summary

    def _token(self, last: AppRunnerService) -> str:
        # The shape of the service's own token (aws/aws-cli#9399): the key of the last record read.
        key = {
            "CustomerAccountId": self.account_id,
            "CreatedAt": int(last.created_at.timestamp()),
            "HashKey": f"{self.account_id}#{last.service_id}",
        }
        return base64.b64encode(json.dumps(key).encode()).decode()

    def _after(self, token: Any, newest_first: list[AppRunnerService]) -> int:
        try:
            key = json.loads(base64.b64decode(token, validate=True))
            account, service_id = key["HashKey"].split("#", 1)
        except (TypeError, ValueError, KeyError, AttributeError, binascii.Error):
            raise InvalidRequestException("Invalid NextToken") from None
        if account != self.account_id:
            raise InvalidRequestException("Invalid NextToken")
        for position, service in enumerate(newest_first):
            if service.service_id == service_id:
                return position + 1
        raise InvalidRequestException("Invalid NextToken")


def _network(given: dict[str, Any]) -> dict[str, Any]:
    """NetworkConfiguration is required in Service; these are the service's defaults (API reference)."""
    return {
        "EgressConfiguration": given.get("EgressConfiguration") or {"EgressType": "DEFAULT"},
        "IngressConfiguration": given.get("IngressConfiguration") or {"IsPubliclyAccessible": True},
        "IpAddressType": given.get("IpAddressType") or "IPV4",
    }


apprunner_backends = BackendDict(AppRunnerBackend, SERVICE)


def backend(region: str = "us-east-1", account: str = DEFAULT_ACCOUNT) -> AppRunnerBackend:
    return apprunner_backends[account][region]


class AppRunnerResponse(BaseResponse):
    """The request handler moto dispatches AppRunner.<Operation> to; one method per operation."""

    def __init__(self) -> None:
        super().__init__(service_name=SERVICE)

    @property
    def apprunner_backend(self) -> AppRunnerBackend:
        return apprunner_backends[self.current_account][self.region]

    def _input(self) -> dict[str, Any]:
        body = self.body.decode() if isinstance(self.body, bytes) else self.body
        try:
            params = json.loads(body) if body else {}
        except ValueError:
            params = None
        if not isinstance(params, dict):
            # What AWS JSON services answer for a body that is not a JSON object.
            raise JsonRESTError("SerializationException", "Start of structure or map found where not expected.")
        return params

    def create_service(self) -> ActionResult:
        service = self.apprunner_backend.create_service(self._input())
        return ActionResult({"Service": service.describe(), "OperationId": str(mock_random.uuid4())})

    def describe_service(self) -> ActionResult:
        params = self._input()
        service = self.apprunner_backend.describe_service(_required(params, "ServiceArn", "serviceArn"))
        return ActionResult({"Service": service.describe()})

    def list_services(self) -> ActionResult:
        params = self._input()
        services, token = self.apprunner_backend.list_services(params.get("MaxResults"), params.get("NextToken"))
        result: dict[str, Any] = {"ServiceSummaryList": [service.summary() for service in services]}
        if token is not None:
            result["NextToken"] = token
        return ActionResult(result)

    def update_service(self) -> ActionResult:
        service = self.apprunner_backend.update_service(self._input())
        return ActionResult({"Service": service.describe(), "OperationId": str(mock_random.uuid4())})

    def delete_service(self) -> ActionResult:
        params = self._input()
        service = self.apprunner_backend.delete_service(_required(params, "ServiceArn", "serviceArn"))
        return ActionResult({"Service": service.describe(), "OperationId": str(mock_random.uuid4())})


# Read by moto through AppRunnerBackend._url_module, as it reads a service's urls.py.
url_bases = [URL_BASE]
url_paths = {"{0}/$": AppRunnerResponse.dispatch}


def _install() -> None:
    """Register App Runner with moto for `mock_aws` and `ThreadedMotoServer`. Called by
    emulator.install(), once, under its lock.

    Both modes find a service the same way: the first entry of `moto.backend_index.backend_url_patterns`
    whose pattern matches the request URL names it (in-process, the AWS URL; served, the host the
    dispatcher derives from the SigV4 credential scope), and `moto.backends.get_backend(name)`
    imports `moto.<name>` and takes its `<name>_backends`. So: one pattern appended to that list (in
    place, as a dispatcher already built holds the same list), and a module registered under
    `moto.apprunner` that holds `apprunner_backends`. No moto function is replaced.
    """
    if MOTO_MODULE in sys.modules or importlib.util.find_spec(MOTO_MODULE) is not None:
        raise RuntimeError(f"{MOTO_MODULE} exists: moto emulates App Runner now, retire emulator/apprunner.py")
    shim = ModuleType(MOTO_MODULE, "App Runner stand-in registered by emulator.install().")
    shim.apprunner_backends = apprunner_backends  # type: ignore[attr-defined]
    sys.modules[MOTO_MODULE] = shim
    backend_index.backend_url_patterns.append((SERVICE, re.compile(URL_BASE)))
