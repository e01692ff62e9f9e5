"""App Runner services and the backend that holds them, per account and region (`apprunner_backends`, a moto
`BackendDict`, so that `mock_aws()` and `/moto-api/reset` clear them)."""

from __future__ import annotations

import base64
import binascii
import json
import string
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend
from moto.moto_api._internal import mock_random

from emulator.apprunner.validation import (
    ARN_LIMITS,
    DEFAULT_CPU,
    DEFAULT_MEMORY,
    DEFAULT_PAGE,
    IMAGE_LIMITS,
    IMAGE_REPOSITORY_TYPES,
    MAX_PAGE,
    MIN_PAGE,
    NAME_LIMITS,
    SERVICE,
    InvalidRequestException,
    ResourceNotFoundException,
    checked_string,
    constraint_error,
    required_member,
    structure_member,
)

DEFAULT_ACCOUNT = "123456789012"


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
    source = structure_member(params, "SourceConfiguration")
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
        image = structure_member(source, "ImageRepository")
        checked_string(required_member(image, "ImageIdentifier", "imageIdentifier"), "imageIdentifier", IMAGE_LIMITS)
        kind = required_member(image, "ImageRepositoryType", "imageRepositoryType")
        if kind not in IMAGE_REPOSITORY_TYPES:
            raise constraint_error(
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
        # moto reads url_bases and url_paths from this module, as from a service's own urls.py.
        from emulator.apprunner import urls

        return urls

    def create_service(self, params: dict[str, Any]) -> AppRunnerService:
        name = checked_string(required_member(params, "ServiceName", "serviceName"), "serviceName", NAME_LIMITS)
        required_member(params, "SourceConfiguration", "sourceConfiguration")
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
                instance={
                    "Cpu": DEFAULT_CPU,
                    "Memory": DEFAULT_MEMORY,
                    **structure_member(params, "InstanceConfiguration"),
                },
                auto_scaling=self._auto_scaling(params.get("AutoScalingConfigurationArn")),
                network=_network(structure_member(params, "NetworkConfiguration")),
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
        checked_string(arn, "serviceArn", ARN_LIMITS)
        with self.lock:
            service = self.services.get(arn)
        if service is None:
            raise ResourceNotFoundException(f"No service found with the ARN {arn}")
        return service

    def list_services(self, max_results: Any, next_token: Any) -> tuple[list[AppRunnerService], str | None]:
        if max_results is None:
            size = DEFAULT_PAGE
        elif isinstance(max_results, bool) or not isinstance(max_results, int):
            raise constraint_error(max_results, "maxResults", "Member must be an integer")
        elif max_results < MIN_PAGE:
            raise constraint_error(
                max_results, "maxResults", f"Member must have value greater than or equal to {MIN_PAGE}"
            )
        elif max_results > MAX_PAGE:
            raise constraint_error(
                max_results, "maxResults", f"Member must have value less than or equal to {MAX_PAGE}"
            )
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
            service = self.describe_service(required_member(params, "ServiceArn", "serviceArn"))
            if params.get("SourceConfiguration") is not None:
                service.source = _source(params, self.account_id, previous=service.source)
            if params.get("InstanceConfiguration") is not None:
                service.instance = {**service.instance, **structure_member(params, "InstanceConfiguration")}
            if params.get("AutoScalingConfigurationArn") is not None:
                service.auto_scaling = self._auto_scaling(params["AutoScalingConfigurationArn"])
            if params.get("NetworkConfiguration") is not None:
                service.network = _network(structure_member(params, "NetworkConfiguration"))
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
        checked_string(arn, "autoScalingConfigurationArn", ARN_LIMITS)
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
