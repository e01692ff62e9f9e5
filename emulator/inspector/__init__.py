"""Amazon Inspector's ListCoverage, which moto (5.2.5) lacks, for the ECR images Inspector covers.

The sweeper reads `inspector2:ListCoverage` to learn which images Inspector saw in use
(`resourceMetadata.ecrImage.inUseCount` and `lastInUseAt`). moto's `inspector2` backend has Enable,
Disable, BatchGetAccountStatus, ListFindings and a few more, but no ListCoverage: its `urls.py` has no
`/coverage/list` path, so the call answers 404.

Sources
- Request and response shapes, limits and enums: the botocore model `inspector2` 2020-06-08
  (botocore/data/inspector2/2020-06-08/service-2.json.gz), read at import so they cannot drift from
  what botocore sends: ListCoverage is `POST /coverage/list`, maxResults 1..200
  (ListCoverageMaxResults), each criterion a list of 1..10 filters, CoverageStringComparison
  EQUALS | NOT_EQUALS only, a covered resource requires resourceType, resourceId, accountId and scanType.
- resourceId of an ECR image: `arn:<partition>:ecr:<region>:<account>:repository/<repository>/sha256:<hex>`,
  of an ECR repository the same without `/sha256:<hex>`. Confirmed by the model's ResourceId pattern
  (`arn:.*:ecr:.*:\\d{12}:repository\\/[a-zA-Z0-9._\\/-]+(\\/sha256:[a-z0-9]{64})?`, also on
  docs.aws.amazon.com/inspector/v2/APIReference/API_CoveredResource.html) and by the Inspector user
  guide, "Amazon EventBridge event schema for Amazon Inspector events"
  (docs.aws.amazon.com/inspector/latest/user/eventbridge-integration.html): its "Amazon ECR package
  vulnerability finding" example has `resources[].id` =
  `arn:aws:ecr:eu-central-1:123456789012:repository/inspector2/sha256:84f507df...`, and its ECR initial
  scan example names the repository `arn:aws:ecr:us-east-1:111122223333:repository/inspector2`. No
  ListCoverage example for an ECR image was found (the AWS CLI examples show EC2 and Lambda only); the
  coverage resourceId is taken to be the same id as a finding's, which the model's pattern supports.
- A repository with covered images is itself listed, as AWS_ECR_REPOSITORY (model enum; the AWS CLI's
  list-coverage-statistics example counts 27 such resources), so a caller that wants images must filter
  on resourceType.
- Combining filters: the CoverageFilterCriteria reference (API_CoverageFilterCriteria.html) and the model
  document each criterion but not how its filters combine. Different criteria are ANDed here (each one
  narrows the list; no source says otherwise). Within one criterion, EQUALS filters are
  ORed and NOT_EQUALS filters ANDed, as Security Hub's StringFilter reference states for its own
  filters (docs.aws.amazon.com/securityhub/1.0/APIReference/API_StringFilter.html: "CONTAINS, EQUALS,
  and PREFIX filters on the same field are joined by OR"; the negative ones by AND). That is "several
  values OR together" for EQUALS, and keeps two NOT_EQUALS from matching everything (Inspector's own
  behaviour with several NOT_EQUALS is not documented). Ranges of one date or number criterion are ORed.
  A resource without the attribute matches no EQUALS filter and no range, and every NOT_EQUALS filter.

Public API
- `emulator.install()` adds `/coverage/list` to moto's inspector2 URL map and `list_coverage` to
  `Inspector2Response`, for `mock_aws` and a `ThreadedMotoServer` of this process alike (this
  package's `_install()`).
- `cover(repository, digest, *, in_use_count=0, last_in_use_at=None, image_pulled_at=None, tags=(),
  region="us-east-1", account="123456789012")`: Inspector covers that image (and its repository).
  Covering the same image again replaces what it reports. Independent of the ECR emulator: Inspector's
  coverage follows ECR with a delay, so it may name images ECR no longer has.
- `disable(region="us-east-1", account="123456789012")`: that account behaves, in that region, as one where
  Amazon Inspector is not enabled (moto's own Disable of every scan type). An account moto holds no
  status for counts as enabled here, so that `cover()` alone is enough; moto's Enable re-enables it.
- `Inspector2Response.list_coverage` is a plain method looked up per request; a test makes the call
  fail by monkeypatching it (`AccessDeniedException` below carries the model's 403).
- Constants: `MIN_RESULTS`, `MAX_RESULTS` (1, 200, from the model), `DEFAULT_RESULTS` (100), `IMAGE` and
  `REPOSITORY` (the two resourceType values listed), `SCAN_TYPE` ("PACKAGE"), `SCAN_FREQUENCY`
  ("CONTINUOUS_SCAN"), `MODEL` (botocore's inspector2 ServiceModel).
- Helpers: `image_resource_id(repository, digest, region, account)`, `repository_arn(...)`,
  `backend(region, account)` (moto's Inspector2Backend; the rows are in its `ecr_coverage`).

Choices, where the sources are silent or disagree
- Not enabled: no source found states what ListCoverage answers. The answer modelled is
  AccessDeniedException (HTTP 403), "Amazon Inspector is not enabled for account <id> in <region>"
  (the message text is ours). Why: Inspector answers service-state conditions with
  AccessDeniedException, not only missing IAM permissions (the model: "For Enable, you receive this
  error if you attempt to use a feature in an unsupported Amazon Web Services Region";
  hashicorp/terraform-provider-aws#38327: "AccessDeniedException: Lambda code scanning is not supported in
  ap-south-1"), and mondoohq/mql (providers/aws/resources/aws_inspector.go) treats AccessDenied from
  ListCoverage as "this region is not readable" and skips it. Against that: the model lists only
  ValidationException, ThrottlingException and InternalServerException for ListCoverage; mql notes
  GetConfiguration answers ResourceNotFoundException ("No CustomerRecord exists") where Inspector was
  never enabled; turbot/steampipe-mod-aws-compliance#857 reports ListFindings giving no findings (not an
  error) in a region where Inspector is disabled; prowler calls ListCoverage only where
  BatchGetAccountStatus says ENABLED. An empty list needs no `disable()`: an enabled account with
  nothing covered answers one.
- With the ECR scan type disabled while another stays enabled, ECR resources are left out. An
  inference: the user guide's "Deactivating a scan type" says "you lose access to any findings the
  scan type produced" and says nothing of coverage.
- maxResults: the model states no default; 100 is used. Out of 1..200 is a ValidationException with
  AWS's usual "1 validation error detected" message. A nextToken is bound to the filters it was issued
  for; another one is a ValidationException.
- Every criterion of the model is accepted. Those on attributes an ECR row lacks (EC2, Lambda, code
  repositories, scanMode, the provider-agnostic cloud* ones other than cloudProvider,
  cloudProviderAccountId and cloudProviderRegion) see them as absent. `PREFIX`, which the model's
  CoverageStringComparison does not list, is refused with a ValidationException.
- Timestamps are epoch seconds, as the rest-json protocol carries them. Rows are listed in the order
  they were first covered; a repository's row comes before its first image's.

Modules, by job (the names callers use are importable from `emulator.inspector`)
- `validation`: the model's limits, comparisons and criteria; ValidationException, AccessDeniedException.
- `coverage`: the covered rows (`Covered`), `cover()`, `disable()`, resource ids, `backend()`.
- `filters`: filterCriteria checked and turned into a test of a row.
- `operation`: `list_coverage`, the handler set on `Inspector2Response`.
"""

from __future__ import annotations

from moto.inspector2 import urls as inspector2_urls
from moto.inspector2.responses import Inspector2Response

from emulator.inspector.coverage import (
    ALL_SCAN_TYPES,
    DEFAULT_ACCOUNT,
    IMAGE,
    REPOSITORY,
    SCAN_FREQUENCY,
    SCAN_TYPE,
    Covered,
    backend,
    cover,
    disable,
    image_resource_id,
    repository_arn,
)
from emulator.inspector.operation import list_coverage
from emulator.inspector.validation import (
    CRITERIA,
    DEFAULT_RESULTS,
    MAP_COMPARISONS,
    MAX_RESULTS,
    MIN_RESULTS,
    MODEL,
    SERVICE,
    STRING_COMPARISONS,
    AccessDeniedException,
    ValidationException,
)

__all__ = [
    "ALL_SCAN_TYPES",
    "CRITERIA",
    "DEFAULT_ACCOUNT",
    "DEFAULT_RESULTS",
    "IMAGE",
    "MAP_COMPARISONS",
    "MAX_RESULTS",
    "MIN_RESULTS",
    "MODEL",
    "REPOSITORY",
    "SCAN_FREQUENCY",
    "SCAN_TYPE",
    "SERVICE",
    "STRING_COMPARISONS",
    "AccessDeniedException",
    "Covered",
    "Inspector2Response",
    "ValidationException",
    "backend",
    "cover",
    "disable",
    "image_resource_id",
    "list_coverage",
    "repository_arn",
]


def _install() -> None:
    """Add ListCoverage to moto's inspector2, in-process (`mock_aws`) and served alike. Called by
    emulator.install(), once, under its lock.

    moto finds an inspector2 handler by matching the request URL against `moto.inspector2.urls.url_paths`
    (read per request in-process; read when a server first builds its inspector2 app), then names the
    operation from the botocore model's routes (`POST /coverage/list` -> ListCoverage) and calls the
    `Inspector2Response` method of that name in snake case.
    """
    if hasattr(Inspector2Response, "list_coverage"):
        raise RuntimeError("moto emulates inspector2 ListCoverage now: retire emulator/inspector/")
    inspector2_urls.url_paths["{0}/coverage/list$"] = Inspector2Response.dispatch
    Inspector2Response.list_coverage = list_coverage
