"""Settings (environment) and run options (event), validated once at the edge.

Both raise ConfigError before any AWS call, with a message that names the variable or key and
the bad value, so that a typo in configuration can never turn into a deletion.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ecr_sweeper.core import constants as c
from ecr_sweeper.core.model import Image
from ecr_sweeper.core.policy import InvalidRetention, KeepForever, Retention, parse_retention
from ecr_sweeper.core.preview import Preview

LOG_LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})

# ECR tag keys (ECR API reference, Tag): letters, numbers, spaces and _.:/=+-@, 1 to 128 characters.
_TAG_KEY = re.compile(r"[\w .:/=+\-@]+")
# ECR repository names (CreateRepository, repositoryName pattern).
_REPOSITORY_NAME = re.compile(r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*")
_MAX_REPOSITORY_NAME = 256

# The keys of the event that EventBridge sends for a scheduled rule (EventBridge user guide,
# "Amazon EventBridge events"). Such an event carries no run options.
_SCHEDULED_EVENT_KEYS = frozenset(
    {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
)
EVENT_KEYS = ("dryRun", "repositories", "asOf")


class ConfigError(ValueError):
    """Invalid settings or run options. Raised before anything is read or deleted."""


@dataclass(frozen=True)
class Consumers:
    """The accounts whose workloads pull from this registry (a central registry's consumers): the
    in-use scan reads each of them through the role `role_name` there, in every swept region."""

    # Listed account IDs; or, with `organization`, every ACTIVE account of the AWS Organization.
    accounts: tuple[str, ...] = ()
    organization: bool = False
    role_name: str = c.DEFAULT_CONSUMER_ROLE_NAME
    # Never read: the operator accepts not protecting what they run (each run warns about each).
    ignored: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return self.organization or bool(self.accounts)

    def role_arn(self, partition: str, account: str) -> str:
        return f"arn:{partition}:iam::{account}:role/{self.role_name}"

    def to_read(self, own_account: str, listed: Iterable[str]) -> tuple[str, ...]:
        """The accounts to read, sorted: those listed (or the organization's ACTIVE ones), less the
        sweeper's own (its workloads are read directly) and the ignored ones."""
        return tuple(sorted(set(listed) - {own_account} - set(self.ignored)))


@dataclass(frozen=True)
class Settings:
    retention_tag_key: str
    # None: repositories without the tag are not swept at all (opt-in mode).
    default_retention: Retention | None
    default_retention_text: str
    dry_run: bool
    # Keep digests that workloads run or will pull (and delete nothing if a source cannot be read).
    protect_in_use: bool
    max_workers: int
    # Regions swept in turn; empty: only the function's own region.
    regions: tuple[str, ...]
    # SSM parameter that remembers where the next sweep starts; None: always start at the first.
    cursor_parameter: str | None
    # Days after the first run during which runs not told otherwise are dry runs; 0: no preview.
    preview_days: int
    # SSM parameter that records the first run; None: the preview counts from every run (no record).
    first_run_parameter: str | None
    # EKS clusters not read (the operator accepts not protecting what they run), and whether Amazon
    # Inspector's in-use data is used when readable (auto), must be (required), or is not (off).
    service_name: str
    metrics_namespace: str
    log_level: str
    eks_clusters_ignored: frozenset[str] = frozenset()
    inspector_in_use: str = "auto"
    # Other accounts whose workloads pull from this registry, read by the in-use scan.
    consumers: Consumers = Consumers()
    # The in-use cache's S3 bucket; None: no cache, every run describes everything (a full scan).
    in_use_cache_bucket: str | None = None
    # The Step Functions engine only: its work bucket, and how many repositories one batch holds.
    work_bucket: str | None = None
    repositories_per_invocation: int = c.DEFAULT_REPOSITORIES_PER_INVOCATION
    # Where earlier versions kept the cursor and the first run: read while the above do not exist.
    legacy_cursor_parameter: str | None = None
    legacy_first_run_parameter: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        tag_key = env.get(c.RETENTION_TAG_KEY_ENV, c.DEFAULT_RETENTION_TAG_KEY)
        if not (0 < len(tag_key) <= c.MAX_TAG_KEY_LENGTH and _TAG_KEY.fullmatch(tag_key)):
            raise ConfigError(
                f"{c.RETENTION_TAG_KEY_ENV}={tag_key!r} is invalid: expected an ECR tag key of "
                f"1 to {c.MAX_TAG_KEY_LENGTH} letters, digits, spaces or _.:/=+-@"
            )
        if tag_key != tag_key.strip():
            # "keep " would match no repository's tag and silently sweep every one by the default.
            raise ConfigError(
                f"{c.RETENTION_TAG_KEY_ENV}={tag_key!r} is invalid: it starts or ends with whitespace, which no "
                "tag key that a person typed does"
            )

        default_text = env.get(c.DEFAULT_RETENTION_DAYS_ENV, c.DEFAULT_RETENTION_DAYS)
        try:
            default = parse_retention(default_text)
        except InvalidRetention as error:
            raise ConfigError(
                f"{c.DEFAULT_RETENTION_DAYS_ENV}={default_text!r} is invalid: {error.why}; "
                f"expected a whole number of days N or Nd from 0 to {c.MAX_RETENTION_DAYS}, "
                "or off for opt-in mode"
            ) from None

        log_level = env.get(c.LOG_LEVEL_ENV, c.DEFAULT_LOG_LEVEL).strip().upper()
        if log_level not in LOG_LEVELS:
            raise ConfigError(
                f"{c.LOG_LEVEL_ENV}={env.get(c.LOG_LEVEL_ENV)!r} is invalid: expected one of "
                + ", ".join(sorted(LOG_LEVELS))
            )

        return cls(
            retention_tag_key=tag_key,
            default_retention=None if isinstance(default, KeepForever) else default,
            default_retention_text=default_text.strip().lower(),
            dry_run=parse_bool(c.DRY_RUN_ENV, env.get(c.DRY_RUN_ENV, "false")),
            protect_in_use=parse_bool(c.PROTECT_IN_USE_ENV, env.get(c.PROTECT_IN_USE_ENV, "true")),
            max_workers=parse_workers(env.get(c.MAX_WORKERS_ENV, str(c.DEFAULT_MAX_WORKERS))),
            regions=parse_regions(env.get(c.REGIONS_ENV, "")),
            cursor_parameter=env.get(c.CURSOR_PARAMETER_ENV) or None,
            preview_days=parse_days(
                c.PREVIEW_DAYS_ENV, env.get(c.PREVIEW_DAYS_ENV, c.DEFAULT_PREVIEW_DAYS), c.MAX_PREVIEW_DAYS
            ),
            first_run_parameter=env.get(c.FIRST_RUN_PARAMETER_ENV) or None,
            legacy_cursor_parameter=env.get(c.LEGACY_CURSOR_PARAMETER_ENV) or None,
            legacy_first_run_parameter=env.get(c.LEGACY_FIRST_RUN_PARAMETER_ENV) or None,
            eks_clusters_ignored=parse_cluster_names(env.get(c.EKS_CLUSTERS_IGNORED_ENV, "")),
            inspector_in_use=parse_choice(
                c.INSPECTOR_IN_USE_ENV, env.get(c.INSPECTOR_IN_USE_ENV, "auto"), c.INSPECTOR_MODES
            ),
            consumers=parse_consumers(env),
            in_use_cache_bucket=parse_bucket(c.IN_USE_CACHE_BUCKET_ENV, env.get(c.IN_USE_CACHE_BUCKET_ENV, "")),
            work_bucket=env.get(c.WORK_BUCKET_ENV) or None,
            repositories_per_invocation=parse_positive(
                c.REPOSITORIES_PER_INVOCATION_ENV,
                env.get(c.REPOSITORIES_PER_INVOCATION_ENV, str(c.DEFAULT_REPOSITORIES_PER_INVOCATION)),
            ),
            service_name=_non_empty(env, c.SERVICE_NAME_ENV, c.DEFAULT_SERVICE_NAME),
            metrics_namespace=_non_empty(env, c.METRICS_NAMESPACE_ENV, c.DEFAULT_METRICS_NAMESPACE),
            log_level=log_level,
        )


def parse_bool(name: str, value: str) -> bool:
    text = value.strip().lower()
    if text == "true":
        return True
    if text == "false":
        return False
    raise ConfigError(f"{name}={value!r} is invalid: expected true or false")


_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]+")


def parse_regions(value: str) -> tuple[str, ...]:
    regions = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    for region in regions:
        if not _REGION.fullmatch(region):
            raise ConfigError(
                f"{c.REGIONS_ENV}={value!r} is invalid: {region!r} is not a region name such as eu-west-1"
            )
    return regions


# EKS cluster names (CreateCluster, name pattern).
_CLUSTER_NAME = re.compile(r"[0-9A-Za-z][A-Za-z0-9\-_]{0,99}")


def parse_cluster_names(value: str) -> frozenset[str]:
    names = [part.strip() for part in value.split(",") if part.strip()]
    for name in names:
        if not _CLUSTER_NAME.fullmatch(name):
            raise ConfigError(f"{c.EKS_CLUSTERS_IGNORED_ENV}={value!r} is invalid: {name!r} is not an EKS cluster name")
    return frozenset(names)


# AWS account IDs: 12 digits. IAM role names (CreateRole, RoleName): 1 to 64 letters, digits and +=,.@_-.
_ACCOUNT_ID = re.compile(r"[0-9]{12}")
_ROLE_NAME = re.compile(r"[A-Za-z0-9+=,.@_-]{1,64}")


def parse_consumers(env: Mapping[str, str]) -> Consumers:
    accounts_text = env.get(c.CONSUMER_ACCOUNTS_ENV, "")
    organization = accounts_text.strip().lower() == c.ORGANIZATION
    role_name = env.get(c.CONSUMER_ROLE_NAME_ENV, c.DEFAULT_CONSUMER_ROLE_NAME)
    if not _ROLE_NAME.fullmatch(role_name):
        raise ConfigError(
            f"{c.CONSUMER_ROLE_NAME_ENV}={role_name!r} is invalid: expected an IAM role name of 1 to 64 letters, "
            "digits or +=,.@_-"
        )
    return Consumers(
        accounts=() if organization else parse_account_ids(c.CONSUMER_ACCOUNTS_ENV, accounts_text, c.ORGANIZATION),
        organization=organization,
        role_name=role_name,
        ignored=tuple(
            sorted(parse_account_ids(c.CONSUMER_ACCOUNTS_IGNORED_ENV, env.get(c.CONSUMER_ACCOUNTS_IGNORED_ENV, "")))
        ),
    )


def parse_account_ids(name: str, value: str, alternative: str | None = None) -> tuple[str, ...]:
    """Comma-separated 12-digit account IDs, in order, without repeats."""
    ids = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    for account in ids:
        if not _ACCOUNT_ID.fullmatch(account):
            expected = "comma-separated 12-digit account IDs" + (f", or {alternative} alone" if alternative else "")
            raise ConfigError(
                f"{name}={value!r} is invalid: {account!r} is not a 12-digit account ID; expected {expected}"
            )
    return ids


# S3 general purpose bucket names (S3 user guide, "Bucket naming rules"): 3 to 63 lowercase letters,
# digits, dots and hyphens, beginning and ending with a letter or digit.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def parse_bucket(name: str, value: str) -> str | None:
    """An S3 bucket name, or None when unset (empty)."""
    text = value.strip()
    if not text:
        return None
    if not _BUCKET.fullmatch(text) or ".." in text:
        raise ConfigError(f"{name}={value!r} is invalid: expected an S3 bucket name (3 to 63 lowercase letters, "
                          "digits, dots and hyphens)")  # fmt: skip
    return text


def parse_choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    text = value.strip().lower()
    if text not in choices:
        raise ConfigError(f"{name}={value!r} is invalid: expected one of {', '.join(choices)}")
    return text


def parse_days(name: str, value: str, maximum: int) -> int:
    text = value.strip()
    if not (text.isascii() and text.isdigit() and int(text) <= maximum):
        raise ConfigError(f"{name}={value!r} is invalid: expected a whole number of days from 0 to {maximum}")
    return int(text)


def parse_positive(name: str, value: str) -> int:
    if not (value.isascii() and value.isdigit() and int(value) > 0):
        raise ConfigError(f"{name}={value!r} is invalid: expected a whole number above 0")
    return int(value)


def parse_workers(value: str) -> int:
    text = value.strip()
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= c.MAX_MAX_WORKERS):
        raise ConfigError(
            f"{c.MAX_WORKERS_ENV}={value!r} is invalid: expected a whole number from 1 to {c.MAX_MAX_WORKERS}"
        )
    return int(text)


def _non_empty(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, default)
    if not value.strip():
        raise ConfigError(f"{name}={value!r} is invalid: expected a non-empty name")
    return value


@dataclass(frozen=True)
class RunOptions:
    dry_run: bool
    # None: every repository in the account and region.
    repositories: tuple[str, ...] | None = None
    # Evaluate expiry as of this time instead of now (dry runs only: a forecast).
    as_of: datetime | None = None
    # The event said dryRun (true or false) itself: a preview week does not override that.
    dry_run_given: bool = False
    # Set when this run is a dry run because of the preview week.
    preview: Preview | None = None
    # Keep every rule the planner checked for every digest (`ecr-sweeper explain`); never from an event.
    trace: bool = False
    # A saved plan (`ecr-sweeper sweep --plan`): region -> repository -> digest -> the image as
    # planned. Only those digests may be deleted, and only those repositories are swept. Never
    # from an event.
    approved: Mapping[str | None, Mapping[str, Mapping[str, Image]]] | None = None
    # False on a laptop whose principal is not a pull-time update exclusion: reading an untagged
    # index's manifest would record a pull and keep it alive. Never from an event.
    read_untagged_indexes: bool = True

    @classmethod
    def from_event(cls, event: Any, settings: Settings) -> RunOptions:
        """Accept the scheduled EventBridge event as it is, or a manual event of EVENT_KEYS."""
        if event is None or _is_scheduled_event(event):
            return cls(dry_run=settings.dry_run)
        if not isinstance(event, Mapping):
            raise ConfigError(
                f"event {event!r} is invalid: expected a JSON object with the optional keys " + ", ".join(EVENT_KEYS)
            )
        unknown = sorted(set(event) - set(EVENT_KEYS))
        if unknown:
            raise ConfigError(
                f"event key(s) {', '.join(map(repr, unknown))} are not accepted: expected only {', '.join(EVENT_KEYS)}"
            )

        dry_run = settings.dry_run
        if "dryRun" in event:
            if not isinstance(event["dryRun"], bool):
                raise ConfigError(f"event dryRun={event['dryRun']!r} is invalid: expected true or false")
            dry_run = event["dryRun"]

        repositories = _repositories(event["repositories"]) if "repositories" in event else None

        as_of = None
        if "asOf" in event:
            as_of = parse_time(event["asOf"])
            if not dry_run:
                raise ConfigError(
                    f"event asOf={event['asOf']!r} is only allowed in a dry run: "
                    'add "dryRun": true to forecast what a later run would delete'
                )
        return cls(dry_run=dry_run, repositories=repositories, as_of=as_of, dry_run_given="dryRun" in event)


def _is_scheduled_event(event: Any) -> bool:
    return isinstance(event, Mapping) and event.get("source") == "aws.events" and set(event) <= _SCHEDULED_EVENT_KEYS


def _repositories(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"event repositories={value!r} is invalid: expected a non-empty list of repository names")
    for name in value:
        if not (isinstance(name, str) and len(name) <= _MAX_REPOSITORY_NAME and _REPOSITORY_NAME.fullmatch(name)):
            raise ConfigError(f"event repositories entry {name!r} is not a valid ECR repository name")
    return tuple(dict.fromkeys(value))


def parse_time(value: Any) -> datetime:
    """An ISO-8601 time; one without a zone is read as UTC."""
    if not isinstance(value, str):
        raise ConfigError(f"event asOf={value!r} is invalid: expected an ISO-8601 time string")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(
            f"event asOf={value!r} is invalid: expected an ISO-8601 time such as 2026-12-04T03:00:00Z"
        ) from None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed
