"""ListCoverage (POST /coverage/list), set on moto's `Inspector2Response` by `emulator.install()`."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from moto.inspector2.responses import Inspector2Response

from emulator import paging
from emulator.inspector.coverage import account_enabled, coverage_lock, coverage_rows
from emulator.inspector.filters import criteria_test
from emulator.inspector.validation import (
    DEFAULT_RESULTS,
    MAX_RESULTS,
    MIN_RESULTS,
    AccessDeniedException,
    ValidationException,
    constraint_error,
)


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
            raise constraint_error(size, "maxResults", "Member must be an integer")
        if size < MIN_RESULTS:
            raise constraint_error(size, "maxResults", f"Member must have value greater than or equal to {MIN_RESULTS}")
        if size > MAX_RESULTS:
            raise constraint_error(size, "maxResults", f"Member must have value less than or equal to {MAX_RESULTS}")
    criteria = params.get("filterCriteria")
    matches = criteria_test(criteria)
    inspector = self.inspector2_backend
    enabled, ecr_enabled = account_enabled(inspector, self.current_account)
    if not enabled:
        raise AccessDeniedException(
            f"Amazon Inspector is not enabled for account {self.current_account} in {self.region}"
        )
    with coverage_lock:
        rows = list(coverage_rows(inspector).values()) if ecr_enabled else []
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
