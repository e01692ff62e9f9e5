"""Names and limits shared by the function, the stack and the tests."""

from __future__ import annotations

# Environment variables: the function's settings (see settings.py) and the stack that sets them.
RETENTION_TAG_KEY_ENV = "RETENTION_TAG_KEY"
DEFAULT_RETENTION_DAYS_ENV = "DEFAULT_RETENTION_DAYS"
DRY_RUN_ENV = "DRY_RUN"
SERVICE_NAME_ENV = "POWERTOOLS_SERVICE_NAME"
METRICS_NAMESPACE_ENV = "POWERTOOLS_METRICS_NAMESPACE"
LOG_LEVEL_ENV = "POWERTOOLS_LOG_LEVEL"
PROTECT_IN_USE_ENV = "PROTECT_IN_USE"
MAX_WORKERS_ENV = "MAX_WORKERS"
# Comma-separated regions to sweep, one after the other; empty: the function's own region.
REGIONS_ENV = "REGIONS"
# The function's state between runs (cursor.py): SSM parameters it creates and rewrites itself, which
# no stack defines, so that no deploy rewrites them (CloudFormation puts a parameter's template
# value again on any update of the resource, stack tags included). The stack names them under
# /ecr-sweeper/<stack>/state/.
CURSOR_PARAMETER_ENV = "CURSOR_PARAMETER"
# The first days after the first run are a preview: scheduled runs are dry runs (docs, "Your first week").
PREVIEW_DAYS_ENV = "PREVIEW_DAYS"
# EKS clusters whose workloads are not read (comma-separated), and Amazon Inspector's in-use data.
EKS_CLUSTERS_IGNORED_ENV = "EKS_CLUSTERS_IGNORED"
INSPECTOR_IN_USE_ENV = "INSPECTOR_IN_USE"
INSPECTOR_MODES = ("auto", "required", "off")
FIRST_RUN_PARAMETER_ENV = "FIRST_RUN_PARAMETER"
# Where earlier versions kept the same state, in parameters of the stack itself: read (never
# written) while the function's own parameter does not exist yet, so that an upgrade keeps the
# preview week and the rotation it had.
LEGACY_CURSOR_PARAMETER_ENV = "LEGACY_CURSOR_PARAMETER"
LEGACY_FIRST_RUN_PARAMETER_ENV = "LEGACY_FIRST_RUN_PARAMETER"
# Central registries (docs, "Central registries"): the accounts whose workloads pull from this
# registry, read through a role of that name in each; `organization` means every ACTIVE account of
# the AWS Organization. Accounts in the ignored list are never read, and each run warns about them.
CONSUMER_ACCOUNTS_ENV = "CONSUMER_ACCOUNTS"
CONSUMER_ROLE_NAME_ENV = "CONSUMER_ROLE_NAME"
CONSUMER_ACCOUNTS_IGNORED_ENV = "CONSUMER_ACCOUNTS_IGNORED"
ORGANIZATION = "organization"
DEFAULT_CONSUMER_ROLE_NAME = "ecr-sweeper-reader"
# The session name consumer accounts see in CloudTrail when the sweeper assumes their role.
CONSUMER_SESSION_NAME = "ecr-sweeper-in-use-scan"
# The S3 bucket of the in-use cache (in_use_cache.py): what the in-use scan learned that never
# changes; unset: every run describes every task definition revision and function version.
IN_USE_CACHE_BUCKET_ENV = "IN_USE_CACHE_BUCKET"
# The cache objects' prefix in that bucket: in-use-cache/<account>/<region>.json (the role may
# read and write nothing else there).
IN_USE_CACHE_PREFIX = "in-use-cache"
# The Step Functions engine only: where large repository lists go, and how many one invocation sweeps.
WORK_BUCKET_ENV = "WORK_BUCKET"
REPOSITORIES_PER_INVOCATION_ENV = "REPOSITORIES_PER_INVOCATION"
DEFAULT_REPOSITORIES_PER_INVOCATION = 500
# The Step Functions engine's batches read the execution's in-use picture; one that starts longer
# after the scan than this scans again. 15 minutes: the window one Lambda invocation has between
# its own scan and its last delete.
IN_USE_MAX_AGE_MINUTES_ENV = "IN_USE_MAX_AGE_MINUTES"
DEFAULT_IN_USE_MAX_AGE_MINUTES = 15
MAX_IN_USE_MAX_AGE_MINUTES = 1440

DEFAULT_RETENTION_TAG_KEY = "ecr-sweeper:retention-days"
DEFAULT_RETENTION_DAYS = "7"
DEFAULT_SERVICE_NAME = "ecr-sweeper"
DEFAULT_METRICS_NAMESPACE = "EcrSweeper"
DEFAULT_LOG_LEVEL = "INFO"
# Repositories swept at once; chosen from bench/sweep_bench.py (see docs, "Performance").
DEFAULT_MAX_WORKERS = 16
MAX_MAX_WORKERS = 64

# Ten years: a longer window is almost certainly a typo (99999) rather than a wish.
MAX_RETENTION_DAYS = 3650
# Without PREVIEW_DAYS the function itself previews nothing; the stack sets 7 (context previewDays).
DEFAULT_PREVIEW_DAYS = "0"
MAX_PREVIEW_DAYS = 365

# BatchDeleteImage takes 1 to 100 image ids, and botocore does not check the maximum
# client-side, so the limit is ours to keep.
DELETE_BATCH_SIZE = 100
# BatchGetImage reads up to 100 manifests per call.
BATCH_GET_SIZE = 100
# DescribeImages takes up to 100 imageIds per call (ImageIdentifierList).
DESCRIBE_IDS_SIZE = 100
# The manifest types that list other manifests (ECR user guide; OCI image spec).
INDEX_MEDIA_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)
# DescribeRepositories and DescribeImages accept maxResults up to 1000 (default 100).
PAGE_SIZE = 1000
# ECR tag keys: 1 to 128 characters (ECR Tag data type).
MAX_TAG_KEY_LENGTH = 128

# The summary a sweep returns keeps at most this many per-repository entries, so that the
# Lambda response stays far below its 6 MB limit even for an account with 100,000 repositories.
MAX_SUMMARY_REPOSITORIES = 1000
