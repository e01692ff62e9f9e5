"""The stack's settings, read once from CDK context and validated at synth time."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ecr_sweeper.core import constants as c
from ecr_sweeper.core import validators as v
from ecr_sweeper.core.settings import Consumers, consumers
from ecr_sweeper.core.validators import ConfigError

# Context key -> default. cdk.json carries the same values, and a test checks that they agree.
DEFAULTS: dict[str, Any] = {
    "schedule": "cron(0 3 * * ? *)",
    "defaultRetentionDays": c.DEFAULT_RETENTION_DAYS,
    "retentionTagKey": c.DEFAULT_RETENTION_TAG_KEY,
    "dryRun": False,
    "logRetentionDays": 30,
    "logLevel": c.DEFAULT_LOG_LEVEL,
    # Off: Lambda keeps 100 units of an account's concurrency unreserved, so a reservation fails the
    # first deploy in new or low-limit accounts; an overlapping sweep is safe anyway (the re-check).
    "reserveConcurrency": False,
    "protectInUse": True,
    "maxWorkers": c.DEFAULT_MAX_WORKERS,
    "engine": "lambda",
    "mapConcurrency": 4,
    "repositoriesPerInvocation": 500,
    # stepfunctions only: a batch that starts longer than this after the execution's in-use scan
    # scans again (the window one Lambda invocation has between its scan and its last delete).
    "inUseMaxAgeMinutes": c.DEFAULT_IN_USE_MAX_AGE_MINUTES,
    "alarmEmail": "",
    "regions": [],
    # The first week after the first run is a preview: scheduled runs are dry runs (docs, "Your first week").
    "previewDays": 7,
    # What `cdk destroy` leaves behind by default: the log groups (the audit trail), the alarm
    # topic's KMS key and the work bucket. true: remove them with the stack (docs, "Uninstall").
    "deleteOnDestroy": False,
    # EKS clusters to read through their Kubernetes API: the stack creates an access entry for each
    # (docs, "EKS clusters"); every cluster of the region is read whether named here or not.
    "eksClusters": [],
    # Clusters whose workloads the operator accepts not to protect; each run warns about each.
    "eksClustersIgnored": [],
    # Amazon Inspector's in-use data: auto (when readable), required, or off.
    "inspectorInUse": "auto",
    # Put the function in a VPC (for clusters with a private endpoint only): both or neither.
    "vpcSubnetIds": [],
    "vpcSecurityGroupIds": [],
    # Central registries (docs, "Central registries"): the accounts whose workloads pull from this
    # registry (12-digit IDs, or "organization": every ACTIVE account of the AWS Organization), read
    # through the role consumerRoleName that the EcrSweeperReader stack creates in each; the
    # accounts the operator accepts not to protect (each run warns about each).
    "consumerAccounts": [],
    "consumerRoleName": c.DEFAULT_CONSUMER_ROLE_NAME,
    "consumerAccountsIgnored": [],
    # The EcrSweeperReader stack, for consumer accounts, is in the app only when asked for; its role
    # trusts sweeperRoleArn (the sweeper stack's RoleArn output), from organizationId when given.
    "readerStack": False,
    "sweeperRoleArn": "",
    "organizationId": "",
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
ENGINES = ("lambda", "stepfunctions")
# Distributed Map runs up to 10,000 child executions at once; more than a few hundred sweeping
# invocations would only meet ECR's throttles.
MAX_MAP_CONCURRENCY = 1000

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy, retentionInDays).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)  # fmt: skip

# EventBridge schedule expressions: cron() with six fields, or rate() with a positive value.
_CRON = re.compile(r"cron\((\S+ ){5}\S+\)")
_RATE = re.compile(r"rate\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\)")


class ContextError(ConfigError):
    """A context value that would deploy a broken or unintended sweeper; synth stops."""


@dataclass(frozen=True)
class SweeperConfig:
    schedule: str
    default_retention_days: str
    retention_tag_key: str
    dry_run: bool
    log_retention_days: int
    log_level: str
    reserve_concurrency: bool
    protect_in_use: bool
    max_workers: int
    engine: str
    map_concurrency: int
    repositories_per_invocation: int
    in_use_max_age_minutes: int
    # Subscribed to the alarm topic when set; the subscription must be confirmed from the mail.
    alarm_email: str | None
    # Swept in turn by one invocation; empty: the stack's own region.
    regions: tuple[str, ...]
    preview_days: int
    delete_on_destroy: bool
    eks_clusters: tuple[str, ...]
    eks_clusters_ignored: tuple[str, ...]
    inspector_in_use: str
    vpc_subnet_ids: tuple[str, ...]
    vpc_security_group_ids: tuple[str, ...]
    consumers: Consumers
    reader_stack: bool
    # The sweeper's role, which the reader role trusts; and the AWS Organization both must belong to.
    sweeper_role_arn: str | None
    organization_id: str | None

    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> SweeperConfig:
        """`get` is `node.try_get_context`: values come from cdk.json, or from `-c key=value` as strings.
        Each key the function also reads goes through the validator the function uses for its
        variable (core/validators.py), named by the key: one validator per setting. Raises
        ContextError, which stops synth."""
        try:
            return cls._read(get)
        except ContextError:
            raise
        except ConfigError as error:
            raise ContextError(str(error)) from None

    @classmethod
    def _read(cls, get: Callable[[str], Any]) -> SweeperConfig:
        value = {key: default if get(key) is None else get(key) for key, default in DEFAULTS.items()}

        def name(key: str) -> str:
            return f"context {key}"

        schedule = str(value["schedule"]).strip()
        if not (_CRON.fullmatch(schedule) or _RATE.fullmatch(schedule)):
            raise ContextError(
                f"context schedule={value['schedule']!r} is invalid: expected an EventBridge expression "
                "such as cron(0 3 * * ? *) or rate(1 day)"
            )

        log_retention = v.whole(name("logRetentionDays"), value["logRetentionDays"], 1)
        if log_retention not in LOG_RETENTION_DAYS:
            raise ContextError(
                f"context logRetentionDays={value['logRetentionDays']!r} is invalid: CloudWatch Logs accepts "
                + ", ".join(map(str, LOG_RETENTION_DAYS))
            )
        # The default retention's text is what the function is given, once it is known to be valid.
        v.retention(name("defaultRetentionDays"), value["defaultRetentionDays"])

        config = cls(
            schedule=schedule,
            default_retention_days=str(value["defaultRetentionDays"]).strip(),
            retention_tag_key=v.tag_key(name("retentionTagKey"), value["retentionTagKey"]),
            dry_run=v.boolean(name("dryRun"), value["dryRun"]),
            log_retention_days=log_retention,
            log_level=v.log_level(name("logLevel"), value["logLevel"]),
            reserve_concurrency=v.boolean(name("reserveConcurrency"), value["reserveConcurrency"]),
            protect_in_use=v.boolean(name("protectInUse"), value["protectInUse"]),
            max_workers=v.whole(name("maxWorkers"), value["maxWorkers"], 1, c.MAX_MAX_WORKERS),
            engine=v.choice(name("engine"), value["engine"], ENGINES),
            map_concurrency=v.whole(name("mapConcurrency"), value["mapConcurrency"], 1, MAX_MAP_CONCURRENCY),
            repositories_per_invocation=v.whole(
                name("repositoriesPerInvocation"), value["repositoriesPerInvocation"], 1
            ),
            in_use_max_age_minutes=v.whole(
                name("inUseMaxAgeMinutes"),
                value["inUseMaxAgeMinutes"],
                1,
                c.MAX_IN_USE_MAX_AGE_MINUTES,
                what="a whole number of minutes",
            ),
            alarm_email=str(value["alarmEmail"]).strip() or None,
            regions=v.regions(name("regions"), value["regions"]),
            preview_days=v.whole(
                name("previewDays"), value["previewDays"], 0, c.MAX_PREVIEW_DAYS, what="a whole number of days"
            ),
            delete_on_destroy=v.boolean(name("deleteOnDestroy"), value["deleteOnDestroy"]),
            eks_clusters=_eks_clusters(value["eksClusters"]),
            eks_clusters_ignored=v.cluster_names(name("eksClustersIgnored"), value["eksClustersIgnored"]),
            inspector_in_use=v.choice(name("inspectorInUse"), value["inspectorInUse"], c.INSPECTOR_MODES),
            vpc_subnet_ids=v.matching(
                name("vpcSubnetIds"), value["vpcSubnetIds"], _SUBNET, "a subnet ID (subnet-...)", "a list of subnet IDs"
            ),
            vpc_security_group_ids=v.matching(
                name("vpcSecurityGroupIds"),
                value["vpcSecurityGroupIds"],
                _SECURITY_GROUP,
                "a security group ID (sg-...)",
                "a list of security group IDs",
            ),
            consumers=consumers(
                value["consumerAccounts"],
                value["consumerRoleName"],
                value["consumerAccountsIgnored"],
                names=(name("consumerAccounts"), name("consumerRoleName"), name("consumerAccountsIgnored")),
            ),
            reader_stack=v.boolean(name("readerStack"), value["readerStack"]),
            sweeper_role_arn=_optional(
                "sweeperRoleArn",
                value["sweeperRoleArn"],
                _ROLE_ARN,
                "an IAM role ARN such as arn:aws:iam::123456789012:role/NAME",
            ),
            organization_id=_optional(
                "organizationId", value["organizationId"], _ORGANIZATION_ID, "an organization ID such as o-a1b2c3d4e5"
            ),
        )
        if config.consumers.enabled and not config.protect_in_use:
            raise ContextError(
                "context consumerAccounts needs protectInUse=true: consumer accounts are read by the in-use scan, "
                "which protectInUse=false turns off"
            )
        if config.reader_stack and not config.sweeper_role_arn:
            raise ContextError(
                "context readerStack=true needs sweeperRoleArn: the reader role trusts exactly the sweeper's role "
                "(the RoleArn output of the EcrSweeper stack)"
            )
        if config.reader_stack and config.consumers.organization and not config.organization_id:
            raise ContextError(
                "context readerStack=true with consumerAccounts=organization needs organizationId (o-...): the "
                "reader role then trusts the sweeper's role only from within the organization (aws:PrincipalOrgID)"
            )
        if bool(config.vpc_subnet_ids) != bool(config.vpc_security_group_ids):
            raise ContextError(
                "context vpcSubnetIds and vpcSecurityGroupIds go together: a function in a VPC needs both subnets "
                "and security groups"
            )
        if config.alarm_email and not _EMAIL.fullmatch(config.alarm_email):
            raise ContextError(f"context alarmEmail={value['alarmEmail']!r} is invalid: expected an email address")
        if config.engine == "stepfunctions" and config.regions:
            # The state machine sweeps the stack's region only, while IAM would be scoped to the list.
            raise ContextError(
                f"context regions={list(config.regions)!r} is not supported with engine=stepfunctions yet: the state "
                "machine sweeps only the stack's region. Deploy one stack per region, or use engine=lambda"
            )
        if config.engine == "stepfunctions" and config.reserve_concurrency:
            raise ContextError(
                "context reserveConcurrency=true applies to engine=lambda only: with engine=stepfunctions the "
                "schedule starts the state machine, whose Map already bounds concurrency (mapConcurrency)"
            )
        return config

    def function_environment(self) -> dict[str, str]:
        return {
            c.RETENTION_TAG_KEY_ENV: self.retention_tag_key,
            c.DEFAULT_RETENTION_DAYS_ENV: self.default_retention_days,
            c.DRY_RUN_ENV: "true" if self.dry_run else "false",
            c.PROTECT_IN_USE_ENV: "true" if self.protect_in_use else "false",
            c.MAX_WORKERS_ENV: str(self.max_workers),
            c.REGIONS_ENV: ",".join(self.regions),
            c.SERVICE_NAME_ENV: c.DEFAULT_SERVICE_NAME,
            c.METRICS_NAMESPACE_ENV: c.DEFAULT_METRICS_NAMESPACE,
            c.LOG_LEVEL_ENV: self.log_level,
            c.PREVIEW_DAYS_ENV: str(self.preview_days),
            c.EKS_CLUSTERS_IGNORED_ENV: ",".join(self.eks_clusters_ignored),
            c.INSPECTOR_IN_USE_ENV: self.inspector_in_use,
            c.CONSUMER_ACCOUNTS_ENV: c.ORGANIZATION
            if self.consumers.organization
            else ",".join(self.consumers.accounts),
            c.CONSUMER_ROLE_NAME_ENV: self.consumers.role_name,
            c.CONSUMER_ACCOUNTS_IGNORED_ENV: ",".join(self.consumers.ignored),
        }


# Subnet and security group ids (EC2).
_SUBNET = re.compile(r"subnet-[0-9a-f]{8,17}")
_SECURITY_GROUP = re.compile(r"sg-[0-9a-f]{8,17}")
# IAM role ARNs, with a path or not; organization IDs (Organizations API reference, Organization:
# ^o-[a-z0-9]{10,32}$).
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/(?:[A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,64}")
_ORGANIZATION_ID = re.compile(r"o-[a-z0-9]{10,32}")


# A cluster named with its region ("eu-west-1/prod"): what one might write for a swept region.
_REGIONAL_CLUSTER = re.compile(r"([a-z]{2}(?:-[a-z]+)+-[0-9]+)/(.+)")


def _eks_clusters(value: Any) -> tuple[str, ...]:
    """eksClusters: the clusters of the stack's own region that get an access entry. A stack creates
    its resources in its own region only, so an access entry for a cluster of another region would
    fail the deploy ("No cluster found"); one named with its region is refused, with how to grant
    access there instead."""
    if isinstance(value, list | str):
        listed = value if isinstance(value, list) else value.split(",")
        for item in listed:
            regional = _REGIONAL_CLUSTER.fullmatch(item.strip()) if isinstance(item, str) else None
            if regional:
                region, cluster = regional.groups()
                raise ContextError(
                    f"context eksClusters entry {item!r} names a cluster of region {region}: the stack creates "
                    "access entries only in the region it is deployed to, and eksClusters takes that region's "
                    f"cluster names alone. If {region} is the stack's region, write {cluster!r}. Otherwise give the "
                    f"function's role (the stack's RoleArn output) read access in {region} yourself: "
                    f"`aws eks create-access-entry --region {region} --cluster-name {cluster} --principal-arn "
                    "ROLE_ARN` "
                    f"then `aws eks associate-access-policy --region {region} --cluster-name {cluster} --principal-arn "
                    "ROLE_ARN --policy-arn arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy --access-scope "
                    "type=cluster` (docs: EKS clusters)"
                )
    return v.cluster_names("context eksClusters", value)


def _optional(key: str, value: Any, pattern: re.Pattern[str], expected: str) -> str | None:
    """An optional text value ("" when not set) that must match `pattern` when set."""
    if not isinstance(value, str) or (value.strip() and not pattern.fullmatch(value.strip())):
        raise ContextError(f"context {key}={value!r} is invalid: expected {expected}")
    return value.strip() or None
