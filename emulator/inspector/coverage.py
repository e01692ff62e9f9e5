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
  module's `_install()`).
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
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from botocore.loaders import create_loader
from botocore.model import ServiceModel
from moto.core.exceptions import ServiceException
from moto.inspector2 import urls as inspector2_urls
from moto.inspector2.models import Inspector2Backend, inspector2_backends
from moto.inspector2.responses import Inspector2Response
from moto.utilities.utils import get_partition

from emulator import paging

DEFAULT_ACCOUNT = "123456789012"
SERVICE = "inspector2"
MODEL = ServiceModel(create_loader().load_service_model(SERVICE, "service-2"), SERVICE)


def _limits(shape: str) -> dict[str, Any]:
    return dict(MODEL.shape_for(shape).metadata)


_PAGE = _limits("ListCoverageMaxResults")
_FILTERS = _limits("CoverageStringFilterList")
_STRING = _limits("CoverageStringInput")
MIN_RESULTS: int = _PAGE["min"]
MAX_RESULTS: int = _PAGE["max"]
DEFAULT_RESULTS = 100
STRING_COMPARISONS: tuple[str, ...] = tuple(MODEL.shape_for("CoverageStringComparison").enum)
MAP_COMPARISONS: tuple[str, ...] = tuple(MODEL.shape_for("CoverageMapComparison").enum)
# Criterion name -> its list shape (CoverageStringFilterList, CoverageDateFilterList, ...).
CRITERIA: dict[str, str] = {
    name: shape.name for name, shape in MODEL.shape_for("CoverageFilterCriteria").members.items()
}

IMAGE = "AWS_ECR_CONTAINER_IMAGE"
REPOSITORY = "AWS_ECR_REPOSITORY"
SCAN_TYPE = "PACKAGE"
# EcrScanFrequency; what Inspector reports for a repository under continuous enhanced scanning.
SCAN_FREQUENCY = "CONTINUOUS_SCAN"
ALL_SCAN_TYPES = ["EC2", "ECR", "LAMBDA", "LAMBDA_CODE", "CODE_REPOSITORY"]

# ECR's repository name (CreateRepository) and the digest form the ResourceId pattern accepts.
_REPOSITORY_NAME = re.compile(r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*")
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}")


class ValidationException(ServiceException):
    """The model's ValidationException: `message` and `reason` required, `fields` optional."""

    code = "ValidationException"

    def __init__(self, message: str, member: str | None = None) -> None:
        super().__init__(message)
        self.reason = "FIELD_VALIDATION_FAILED" if member else "OTHER"
        self.fields = [{"name": member, "message": message}] if member else []


class AccessDeniedException(ServiceException):
    """The model's AccessDeniedException (HTTP 403)."""

    code = "AccessDeniedException"


def _constraint(value: Any, member: str, constraint: str) -> ValidationException:
    return ValidationException(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}",
        member,
    )


@dataclass
class Covered:
    """One CoveredResource row: an ECR image, or the repository that holds covered images."""

    resource_type: str
    resource_id: str
    account: str
    region: str
    repository: str
    tags: list[str] = field(default_factory=list)
    in_use_count: int | None = None
    last_in_use_at: datetime | None = None
    image_pulled_at: datetime | None = None
    last_scanned_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def attribute(self, criterion: str) -> Any:
        """The value a criterion compares, None where this row has no such attribute."""
        return {
            "accountId": self.account,
            "resourceId": self.resource_id,
            "resourceType": self.resource_type,
            "scanType": SCAN_TYPE,
            "scanStatusCode": "ACTIVE",
            "scanStatusReason": "SUCCESSFUL",
            "ecrRepositoryName": self.repository,
            "ecrImageTags": self.tags if self.resource_type == IMAGE else None,
            "ecrImageInUseCount": self.in_use_count,
            "ecrImageLastInUseAt": self.last_in_use_at,
            "imagePulledAt": self.image_pulled_at,
            "lastScannedAt": self.last_scanned_at,
            "cloudProvider": "AWS",
            "cloudProviderAccountId": self.account,
            "cloudProviderRegion": self.region,
        }.get(criterion)

    def describe(self) -> dict[str, Any]:
        metadata: dict[str, Any] = {"ecrRepository": {"name": self.repository, "scanFrequency": SCAN_FREQUENCY}}
        if self.resource_type == IMAGE:
            image: dict[str, Any] = {"tags": list(self.tags), "inUseCount": self.in_use_count}
            if self.image_pulled_at is not None:
                image["imagePulledAt"] = self.image_pulled_at
            if self.last_in_use_at is not None:
                image["lastInUseAt"] = self.last_in_use_at
            metadata["ecrImage"] = image
        return {
            "resourceType": self.resource_type,
            "resourceId": self.resource_id,
            "accountId": self.account,
            "scanType": SCAN_TYPE,
            "scanStatus": {"statusCode": "ACTIVE", "reason": "SUCCESSFUL"},
            "resourceMetadata": metadata,
            "lastScannedAt": self.last_scanned_at,
        }


_lock = threading.RLock()


def backend(region: str = "us-east-1", account: str = DEFAULT_ACCOUNT) -> Inspector2Backend:
    return inspector2_backends[account][region]


def _coverage(inspector: Inspector2Backend) -> dict[str, Covered]:
    """resourceId -> row, kept on moto's backend so that mock_aws() and /moto-api/reset clear it."""
    if not hasattr(inspector, "ecr_coverage"):
        inspector.ecr_coverage = {}
    return inspector.ecr_coverage  # type: ignore[no-any-return]


def repository_arn(repository: str, region: str = "us-east-1", account: str = DEFAULT_ACCOUNT) -> str:
    return f"arn:{get_partition(region)}:ecr:{region}:{account}:repository/{repository}"


def image_resource_id(repository: str, digest: str, region: str = "us-east-1", account: str = DEFAULT_ACCOUNT) -> str:
    """The resourceId Inspector gives an ECR image (see the module docstring for the source)."""
    return f"{repository_arn(repository, region, account)}/{digest}"


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value


def cover(
    repository: str,
    digest: str,
    *,
    in_use_count: int = 0,
    last_in_use_at: datetime | None = None,
    image_pulled_at: datetime | None = None,
    tags: Sequence[str] = (),
    region: str = "us-east-1",
    account: str = DEFAULT_ACCOUNT,
) -> str:
    """Make Inspector cover an ECR image, as it reports it in ListCoverage; returns its resourceId."""
    if not _REPOSITORY_NAME.fullmatch(repository):
        raise ValueError(f"not an ECR repository name: {repository!r}")
    if not _DIGEST.fullmatch(digest):
        raise ValueError(f"not a sha256 image digest: {digest!r}")
    if in_use_count < 0:
        raise ValueError("in_use_count must not be negative")
    resource_id = image_resource_id(repository, digest, region, account)
    with _lock:
        rows = _coverage(backend(region, account))
        repository_id = repository_arn(repository, region, account)
        rows.setdefault(repository_id, Covered(REPOSITORY, repository_id, account, region, repository))
        rows[resource_id] = Covered(
            IMAGE,
            resource_id,
            account,
            region,
            repository,
            tags=list(tags),
            in_use_count=in_use_count,
            last_in_use_at=_aware(last_in_use_at, "last_in_use_at"),
            image_pulled_at=_aware(image_pulled_at, "image_pulled_at"),
        )
    return resource_id


def disable(region: str = "us-east-1", account: str = DEFAULT_ACCOUNT) -> None:
    """Make the account behave, in that region, as one where Amazon Inspector is not enabled."""
    with _lock:
        backend(region, account).disable([account], ALL_SCAN_TYPES)


def _enabled(inspector: Inspector2Backend, account: str) -> tuple[bool, bool]:
    """(Inspector enabled, ECR scanning enabled) for the account, from moto's own account status."""
    status = inspector.account_status.get(account)
    if status is None:
        return True, True
    return status.to_json()["status"] == "ENABLED", status.ecr == "ENABLED"


# ---------------------------------------------------------------------------------------------
# Filter criteria
# ---------------------------------------------------------------------------------------------


def _filters(criteria: dict[str, Any], name: str) -> list[dict[str, Any]]:
    filters = criteria[name]
    if not isinstance(filters, list):
        raise _constraint(filters, f"filterCriteria.{name}", "Member must be a list")
    if not _FILTERS["min"] <= len(filters) <= _FILTERS["max"]:
        raise _constraint(
            filters,
            f"filterCriteria.{name}",
            f"Member must have length between {_FILTERS['min']} and {_FILTERS['max']}",
        )
    for each in filters:
        if not isinstance(each, dict):
            raise _constraint(each, f"filterCriteria.{name}.member", "Member must be a structure")
    return filters


def _string_test(name: str, filters: list[dict[str, Any]]) -> Callable[[Any], bool]:
    equal: list[str] = []
    unequal: list[str] = []
    for each in filters:
        comparison, value = each.get("comparison"), each.get("value")
        if comparison not in STRING_COMPARISONS:
            raise _constraint(
                comparison,
                f"filterCriteria.{name}.member.comparison",
                f"Member must satisfy enum value set: [{', '.join(STRING_COMPARISONS)}]",
            )
        if not isinstance(value, str) or not _STRING["min"] <= len(value) <= _STRING["max"]:
            raise _constraint(
                value,
                f"filterCriteria.{name}.member.value",
                f"Member must have length between {_STRING['min']} and {_STRING['max']}",
            )
        (equal if comparison == "EQUALS" else unequal).append(value)

    def test(attribute: Any) -> bool:
        # ecrImageTags is a list: a filter matches a row if it matches any of its tags.
        values = set(attribute) if isinstance(attribute, list) else {attribute} - {None}
        return (not equal or bool(values & set(equal))) and not values & set(unequal)

    return test


def _map_test(name: str, filters: list[dict[str, Any]]) -> Callable[[Any], bool]:
    for each in filters:
        if each.get("comparison") not in MAP_COMPARISONS:
            raise _constraint(
                each.get("comparison"),
                f"filterCriteria.{name}.member.comparison",
                f"Member must satisfy enum value set: [{', '.join(MAP_COMPARISONS)}]",
            )
        if not isinstance(each.get("key"), str) or not each["key"]:
            raise _constraint(each.get("key"), f"filterCriteria.{name}.member.key", "Member must not be null")
    # Tag maps belong to EC2 instances, Lambda functions and other clouds' resources, never to an ECR row.
    return lambda attribute: False


def _range_test(name: str, filters: list[dict[str, Any]], low: str, high: str) -> Callable[[Any], bool]:
    ranges: list[tuple[float | None, float | None]] = []
    for each in filters:
        bounds = []
        for key in (low, high):
            bound = each.get(key)
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int | float)):
                raise _constraint(bound, f"filterCriteria.{name}.member.{key}", "Member must be a number")
            bounds.append(bound)
        ranges.append((bounds[0], bounds[1]))

    def test(attribute: Any) -> bool:
        if attribute is None:
            return False
        value = attribute.timestamp() if isinstance(attribute, datetime) else attribute
        return any((lo is None or value >= lo) and (hi is None or value <= hi) for lo, hi in ranges)

    return test


def _criteria_test(criteria: Any) -> Callable[[Covered], bool]:
    if criteria is None:
        return lambda row: True
    if not isinstance(criteria, dict):
        raise _constraint(criteria, "filterCriteria", "Member must be a structure")
    tests: list[tuple[str, Callable[[Any], bool]]] = []
    for name in criteria:
        shape = CRITERIA.get(name)
        if shape is None:
            raise ValidationException(f"Unknown filter criterion: {name}", f"filterCriteria.{name}")
        filters = _filters(criteria, name)
        if shape == "CoverageStringFilterList":
            tests.append((name, _string_test(name, filters)))
        elif shape == "CoverageMapFilterList":
            tests.append((name, _map_test(name, filters)))
        elif shape == "CoverageDateFilterList":
            tests.append((name, _range_test(name, filters, "startInclusive", "endInclusive")))
        else:
            tests.append((name, _range_test(name, filters, "lowerInclusive", "upperInclusive")))
    return lambda row: all(test(row.attribute(name)) for name, test in tests)


# ---------------------------------------------------------------------------------------------
# The operation
# ---------------------------------------------------------------------------------------------


def _body(response: Inspector2Response) -> dict[str, Any]:
    # Read the JSON body directly: moto's _get_param looks first in a querystring that, for a JSON
    # body, it parses from the body as form data, so a value holding "=" or "&" could shadow a member.
    body = response.body.decode() if isinstance(response.body, bytes) else response.body
    try:
        parsed = json.loads(body) if body else {}
    except json.JSONDecodeError:
        raise ValidationException("Request body is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise ValidationException("Request body must be a JSON object")
    return parsed


def _json(result: dict[str, Any]) -> str:
    # rest-json carries timestamps as epoch seconds.
    return json.dumps(result, default=lambda value: value.timestamp())


def list_coverage(self: Inspector2Response) -> str:
    """ListCoverage (POST /coverage/list), for the ECR images and repositories Inspector covers."""
    params = _body(self)
    size = params.get("maxResults")
    if size is not None:
        if isinstance(size, bool) or not isinstance(size, int):
            raise _constraint(size, "maxResults", "Member must be an integer")
        if size < MIN_RESULTS:
            raise _constraint(size, "maxResults", f"Member must have value greater than or equal to {MIN_RESULTS}")
        if size > MAX_RESULTS:
            raise _constraint(size, "maxResults", f"Member must have value less than or equal to {MAX_RESULTS}")
    criteria = params.get("filterCriteria")
    matches = _criteria_test(criteria)
    inspector = self.inspector2_backend
    enabled, ecr_enabled = _enabled(inspector, self.current_account)
    if not enabled:
        raise AccessDeniedException(
            f"Amazon Inspector is not enabled for account {self.current_account} in {self.region}"
        )
    with _lock:
        rows = list(_coverage(inspector).values()) if ecr_enabled else []
    listed = [row.describe() for row in rows if matches(row)]
    scope = "coverage:" + hashlib.sha256(json.dumps(criteria, sort_keys=True).encode()).hexdigest()
    page, token = paging.page(
        listed,
        DEFAULT_RESULTS if size is None else size,
        params.get("nextToken"),
        scope,
        lambda: ValidationException("The nextToken is invalid", "nextToken"),
    )
    return _json({"coveredResources": page, **({"nextToken": token} if token else {})})


def _install() -> None:
    """Add ListCoverage to moto's inspector2, in-process (`mock_aws`) and served alike. Called by
    emulator.install(), once, under its lock.

    moto finds an inspector2 handler by matching the request URL against `moto.inspector2.urls.url_paths`
    (read per request in-process; read when a server first builds its inspector2 app), then names the
    operation from the botocore model's routes (`POST /coverage/list` -> ListCoverage) and calls the
    `Inspector2Response` method of that name in snake case.
    """
    if hasattr(Inspector2Response, "list_coverage"):
        raise RuntimeError("moto emulates inspector2 ListCoverage now: retire emulator/inspector.py")
    inspector2_urls.url_paths["{0}/coverage/list$"] = Inspector2Response.dispatch
    Inspector2Response.list_coverage = list_coverage
