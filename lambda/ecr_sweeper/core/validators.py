"""One validator per kind of setting, shared by the function (its environment variables, core/settings.py)
and the stack (its CDK context keys, infra/config.py), so that both refuse the same values with the
same words. Each takes the name to show (`MAX_WORKERS`, or `context maxWorkers`) and the value as
given: text from the environment or `-c key=value`, or a JSON value from cdk.json (a boolean, a
number, a list). Each raises ConfigError naming the setting and the value, before anything is read
or deleted.
"""

from __future__ import annotations

import re
from typing import Any

from ecr_sweeper.core.constants import MAX_RETENTION_DAYS, MAX_TAG_KEY_LENGTH
from ecr_sweeper.core.policy import InvalidRetention, KeepForever, Retention, parse_retention


class ConfigError(ValueError):
    """Invalid settings or run options. Raised before anything is read or deleted."""


LOG_LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})
# ECR tag keys (ECR API reference, Tag): letters, numbers, spaces and _.:/=+-@, 1 to 128 characters.
TAG_KEY = re.compile(r"[\w .:/=+\-@]+")
REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]+")
# EKS cluster names (CreateCluster, name pattern).
CLUSTER_NAME = re.compile(r"[0-9A-Za-z][A-Za-z0-9\-_]{0,99}")
# AWS account IDs: 12 digits. IAM role names (CreateRole, RoleName): 1 to 64 letters, digits and +=,.@_-.
ACCOUNT_ID = re.compile(r"[0-9]{12}")
ROLE_NAME = re.compile(r"[A-Za-z0-9+=,.@_-]{1,64}")
# S3 general purpose bucket names (S3 user guide, "Bucket naming rules"): 3 to 63 lowercase letters,
# digits, dots and hyphens, beginning and ending with a letter or digit.
BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = value.strip().lower() if isinstance(value, str) else None
    if text in ("true", "false"):
        return text == "true"
    raise ConfigError(f"{name}={value!r} is invalid: expected true or false")


def whole(name: str, value: Any, low: int, high: int | None = None, *, what: str = "a whole number") -> int:
    """A whole number from `low` to `high` (no upper bound: None): an int, or its digits as text."""
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    if number is None or number < low or (high is not None and number > high):
        bounds = f"from {low} to {high}" if high is not None else ("above 0" if low == 1 else f"of at least {low}")
        raise ConfigError(f"{name}={value!r} is invalid: expected {what} {bounds}")
    return number


def items(name: str, value: Any, what: str) -> tuple[str, ...]:
    """A list of text (cdk.json), or the same comma-separated (`-c key=a,b`, an environment
    variable), stripped, in order, without repeats."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{name}={value!r} is invalid: expected {what}")
    return tuple(dict.fromkeys(item.strip() for item in value if item.strip()))


def matching(name: str, value: Any, pattern: re.Pattern[str], what: str, listed: str) -> tuple[str, ...]:
    """`items` that each match `pattern` (`what` one of them is; `listed` what the whole is)."""
    found = items(name, value, listed)
    for item in found:
        if not pattern.fullmatch(item):
            raise ConfigError(f"{name}={value!r} is invalid: {item!r} is not {what}")
    return found


def regions(name: str, value: Any) -> tuple[str, ...]:
    return matching(name, value, REGION, "a region name such as eu-west-1", "a list of region names")


def cluster_names(name: str, value: Any) -> tuple[str, ...]:
    return matching(name, value, CLUSTER_NAME, "an EKS cluster name", "a list of EKS cluster names")


def account_ids(name: str, value: Any, alternative: str | None = None) -> tuple[str, ...]:
    expected = "12-digit account IDs" + (f", or {alternative} alone" if alternative else "")
    found = items(name, value, f"a list of {expected}")
    for account in found:
        if not ACCOUNT_ID.fullmatch(account):
            raise ConfigError(
                f"{name}={value!r} is invalid: {account!r} is not a 12-digit account ID; expected {expected}"
            )
    return found


def role_name(name: str, value: Any) -> str:
    if not (isinstance(value, str) and ROLE_NAME.fullmatch(value)):
        raise ConfigError(
            f"{name}={value!r} is invalid: expected an IAM role name of 1 to 64 letters, digits or +=,.@_-"
        )
    return value


def choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    text = value.strip().lower() if isinstance(value, str) else None
    if text not in choices:
        raise ConfigError(f"{name}={value!r} is invalid: expected one of {', '.join(choices)}")
    return text


def bucket(name: str, value: Any) -> str | None:
    """An S3 bucket name, or None when unset (empty)."""
    text = value.strip() if isinstance(value, str) else None
    if text == "":
        return None
    if text is None or not BUCKET.fullmatch(text) or ".." in text:
        raise ConfigError(f"{name}={value!r} is invalid: expected an S3 bucket name (3 to 63 lowercase letters, "
                          "digits, dots and hyphens)")  # fmt: skip
    return text


def tag_key(name: str, value: Any) -> str:
    if not (isinstance(value, str) and 0 < len(value) <= MAX_TAG_KEY_LENGTH and TAG_KEY.fullmatch(value)):
        raise ConfigError(
            f"{name}={value!r} is invalid: expected an ECR tag key of 1 to {MAX_TAG_KEY_LENGTH} letters, digits, "
            "spaces or _.:/=+-@"
        )
    if value != value.strip():
        # "keep " would match no repository's tag and silently sweep every one by the default.
        raise ConfigError(
            f"{name}={value!r} is invalid: it starts or ends with whitespace, which no tag key that a person typed does"
        )
    return value


def retention(name: str, value: Any) -> Retention | KeepForever:
    """A retention as DEFAULT_RETENTION_DAYS takes it: N or Nd days, or off (opt-in mode)."""
    try:
        return parse_retention(str(value))
    except InvalidRetention as error:
        raise ConfigError(
            f"{name}={value!r} is invalid: {error.why}; expected a whole number of days N or Nd from 0 to "
            f"{MAX_RETENTION_DAYS}, or off for opt-in mode"
        ) from None


def log_level(name: str, value: Any) -> str:
    level = value.strip().upper() if isinstance(value, str) else None
    if level not in LOG_LEVELS:
        raise ConfigError(f"{name}={value!r} is invalid: expected one of " + ", ".join(sorted(LOG_LEVELS)))
    return level


def non_empty(name: str, value: Any) -> str:
    if not (isinstance(value, str) and value.strip()):
        raise ConfigError(f"{name}={value!r} is invalid: expected a non-empty name")
    return value
