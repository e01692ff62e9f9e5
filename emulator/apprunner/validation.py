"""App Runner's request rules, read from the botocore model `apprunner` 2020-05-15 so that they cannot drift
from what botocore sends: member limits and enums, the two errors, and the checks that answer
InvalidRequestException with AWS's usual "1 validation error detected" message."""

from __future__ import annotations

import re
from typing import Any

from moto.core.exceptions import ServiceException

from emulator.models import limits, service_model

SERVICE = "apprunner"

MODEL = service_model(SERVICE)


NAME_LIMITS = limits(MODEL, "ServiceName")
PAGE_LIMITS = limits(MODEL, "ServiceMaxResults")
IMAGE_LIMITS = limits(MODEL, "ImageIdentifier")
ARN_LIMITS = limits(MODEL, "AppRunnerResourceArn")
IMAGE_REPOSITORY_TYPES: tuple[str, ...] = tuple(MODEL.shape_for("ImageRepositoryType").enum)

MIN_PAGE: int = PAGE_LIMITS["min"]
MAX_PAGE: int = PAGE_LIMITS["max"]
DEFAULT_PAGE = MAX_PAGE

# The model's documented defaults (InstanceConfiguration: "Default: 1 vCPU", "Default: 2 GB"), spelled
# as the service reports them.
DEFAULT_CPU = "1024"
DEFAULT_MEMORY = "2048"


class InvalidRequestException(ServiceException):
    code = "InvalidRequestException"


class ResourceNotFoundException(ServiceException):
    code = "ResourceNotFoundException"


def constraint_error(value: Any, member: str, constraint: str) -> InvalidRequestException:
    return InvalidRequestException(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
    )


def required_member(params: dict[str, Any], key: str, member: str) -> Any:
    value = params.get(key)
    if value is None:
        raise constraint_error(None, member, "Member must not be null")
    return value


def structure_member(params: dict[str, Any], key: str) -> dict[str, Any]:
    """An optional structure member; absent reads as empty."""
    value = params.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise constraint_error(value, key[0].lower() + key[1:], "Member must be a structure")
    return value


def checked_string(value: Any, member: str, limits: dict[str, Any]) -> str:
    if not isinstance(value, str):
        raise constraint_error(value, member, "Member must be a string")
    if len(value) < limits.get("min", 0):
        raise constraint_error(value, member, f"Member must have length greater than or equal to {limits['min']}")
    if "max" in limits and len(value) > limits["max"]:
        raise constraint_error(value, member, f"Member must have length less than or equal to {limits['max']}")
    # Anchored on purpose: the model's patterns leave anchoring open, and a test emulator that lets
    # a doubtful value through hides a caller's bug.
    if "pattern" in limits and not re.fullmatch(limits["pattern"], value):
        raise constraint_error(value, member, f"Member must satisfy regular expression pattern: {limits['pattern']}")
    return value
