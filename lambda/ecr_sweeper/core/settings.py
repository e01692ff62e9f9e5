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
from ecr_sweeper.core import validators as v
from ecr_sweeper.core.model import Image
from ecr_sweeper.core.policy import KeepForever, Retention
from ecr_sweeper.core.preview import Preview
from ecr_sweeper.core.validators import ConfigError as ConfigError

# ECR repository names (CreateRepository, repositoryName pattern).
_REPOSITORY_NAME = re.compile(r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*")
_MAX_REPOSITORY_NAME = 256

# The keys of the event that EventBridge sends for a scheduled rule (EventBridge user guide,
# "Amazon EventBridge events"). Such an event carries no run options.
_SCHEDULED_EVENT_KEYS = frozenset(
    {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
)
EVENT_KEYS = ("dryRun", "repositories", "asOf")


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
    # The Step Functions engine: a batch that starts later than this after the execution's scan scans again.
    in_use_max_age_minutes: int = c.DEFAULT_IN_USE_MAX_AGE_MINUTES
    # Where earlier versions kept the cursor and the first run: read while the above do not exist.
    legacy_cursor_parameter: str | None = None
    legacy_first_run_parameter: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Each variable through its validator (core/validators.py, which the stack's context keys
        share): a bad value raises ConfigError naming the variable and the value."""
        default_text = env.get(c.DEFAULT_RETENTION_DAYS_ENV, c.DEFAULT_RETENTION_DAYS)
        default = v.retention(c.DEFAULT_RETENTION_DAYS_ENV, default_text)
        return cls(
            retention_tag_key=v.tag_key(
                c.RETENTION_TAG_KEY_ENV, env.get(c.RETENTION_TAG_KEY_ENV, c.DEFAULT_RETENTION_TAG_KEY)
            ),
            default_retention=None if isinstance(default, KeepForever) else default,
            default_retention_text=default_text.strip().lower(),
            dry_run=v.boolean(c.DRY_RUN_ENV, env.get(c.DRY_RUN_ENV, "false")),
            protect_in_use=v.boolean(c.PROTECT_IN_USE_ENV, env.get(c.PROTECT_IN_USE_ENV, "true")),
            max_workers=v.whole(
                c.MAX_WORKERS_ENV, env.get(c.MAX_WORKERS_ENV, str(c.DEFAULT_MAX_WORKERS)), 1, c.MAX_MAX_WORKERS
            ),
            regions=v.regions(c.REGIONS_ENV, env.get(c.REGIONS_ENV, "")),
            cursor_parameter=env.get(c.CURSOR_PARAMETER_ENV) or None,
            preview_days=v.whole(
                c.PREVIEW_DAYS_ENV,
                env.get(c.PREVIEW_DAYS_ENV, c.DEFAULT_PREVIEW_DAYS),
                0,
                c.MAX_PREVIEW_DAYS,
                what="a whole number of days",
            ),
            first_run_parameter=env.get(c.FIRST_RUN_PARAMETER_ENV) or None,
            legacy_cursor_parameter=env.get(c.LEGACY_CURSOR_PARAMETER_ENV) or None,
            legacy_first_run_parameter=env.get(c.LEGACY_FIRST_RUN_PARAMETER_ENV) or None,
            eks_clusters_ignored=frozenset(
                v.cluster_names(c.EKS_CLUSTERS_IGNORED_ENV, env.get(c.EKS_CLUSTERS_IGNORED_ENV, ""))
            ),
            inspector_in_use=v.choice(
                c.INSPECTOR_IN_USE_ENV, env.get(c.INSPECTOR_IN_USE_ENV, "auto"), c.INSPECTOR_MODES
            ),
            consumers=consumers(
                env.get(c.CONSUMER_ACCOUNTS_ENV, ""),
                env.get(c.CONSUMER_ROLE_NAME_ENV, c.DEFAULT_CONSUMER_ROLE_NAME),
                env.get(c.CONSUMER_ACCOUNTS_IGNORED_ENV, ""),
                names=(c.CONSUMER_ACCOUNTS_ENV, c.CONSUMER_ROLE_NAME_ENV, c.CONSUMER_ACCOUNTS_IGNORED_ENV),
            ),
            in_use_cache_bucket=v.bucket(c.IN_USE_CACHE_BUCKET_ENV, env.get(c.IN_USE_CACHE_BUCKET_ENV, "")),
            work_bucket=env.get(c.WORK_BUCKET_ENV) or None,
            repositories_per_invocation=v.whole(
                c.REPOSITORIES_PER_INVOCATION_ENV,
                env.get(c.REPOSITORIES_PER_INVOCATION_ENV, str(c.DEFAULT_REPOSITORIES_PER_INVOCATION)),
                1,
            ),
            in_use_max_age_minutes=v.whole(
                c.IN_USE_MAX_AGE_MINUTES_ENV,
                env.get(c.IN_USE_MAX_AGE_MINUTES_ENV, str(c.DEFAULT_IN_USE_MAX_AGE_MINUTES)),
                1,
                c.MAX_IN_USE_MAX_AGE_MINUTES,
                what="a whole number of minutes",
            ),
            service_name=v.non_empty(c.SERVICE_NAME_ENV, env.get(c.SERVICE_NAME_ENV, c.DEFAULT_SERVICE_NAME)),
            metrics_namespace=v.non_empty(
                c.METRICS_NAMESPACE_ENV, env.get(c.METRICS_NAMESPACE_ENV, c.DEFAULT_METRICS_NAMESPACE)
            ),
            log_level=v.log_level(c.LOG_LEVEL_ENV, env.get(c.LOG_LEVEL_ENV, c.DEFAULT_LOG_LEVEL)),
        )


def consumers(accounts: Any, role: Any, ignored: Any, *, names: tuple[str, str, str]) -> Consumers:
    """The consumer accounts of a central registry: 12-digit account IDs, or `organization` alone;
    the reader role's name; the accounts never read. `names`: how each of the three is shown."""
    organization = isinstance(accounts, str) and accounts.strip().lower() == c.ORGANIZATION
    return Consumers(
        accounts=() if organization else v.account_ids(names[0], accounts, c.ORGANIZATION),
        organization=organization,
        role_name=v.role_name(names[1], role),
        ignored=tuple(sorted(v.account_ids(names[2], ignored))),
    )


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
