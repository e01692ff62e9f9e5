"""ListCoverage's request rules, read from the botocore model `inspector2` 2020-06-08 so that they cannot drift
from what botocore sends: maxResults 1..200, each criterion a list of 1..10 filters, the comparisons, the
criteria; and the model's two errors used here."""

from __future__ import annotations

from typing import Any

from moto.core.exceptions import ServiceException

from emulator.models import limits, service_model

SERVICE = "inspector2"
MODEL = service_model(SERVICE)


PAGE_LIMITS = limits(MODEL, "ListCoverageMaxResults")
FILTER_LIMITS = limits(MODEL, "CoverageStringFilterList")
STRING_LIMITS = limits(MODEL, "CoverageStringInput")
MIN_RESULTS: int = PAGE_LIMITS["min"]
MAX_RESULTS: int = PAGE_LIMITS["max"]
DEFAULT_RESULTS = 100
STRING_COMPARISONS: tuple[str, ...] = tuple(MODEL.shape_for("CoverageStringComparison").enum)
MAP_COMPARISONS: tuple[str, ...] = tuple(MODEL.shape_for("CoverageMapComparison").enum)
# Criterion name -> its list shape (CoverageStringFilterList, CoverageDateFilterList, ...).
CRITERIA: dict[str, str] = {
    name: shape.name for name, shape in MODEL.shape_for("CoverageFilterCriteria").members.items()
}


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


def constraint_error(value: Any, member: str, constraint: str) -> ValidationException:
    return ValidationException(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}",
        member,
    )
