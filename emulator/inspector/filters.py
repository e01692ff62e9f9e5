"""ListCoverage's filterCriteria: each criterion checked against the model, then turned into a test of a row.
Different criteria are ANDed; within one, EQUALS filters are ORed and NOT_EQUALS filters ANDed; ranges of
one criterion are ORed (see the package docstring for the sources and the choices)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from emulator.inspector.coverage import Covered
from emulator.inspector.validation import (
    CRITERIA,
    FILTER_LIMITS,
    MAP_COMPARISONS,
    STRING_COMPARISONS,
    STRING_LIMITS,
    ValidationException,
    constraint_error,
)


def _filters(criteria: dict[str, Any], name: str) -> list[dict[str, Any]]:
    filters = criteria[name]
    if not isinstance(filters, list):
        raise constraint_error(filters, f"filterCriteria.{name}", "Member must be a list")
    if not FILTER_LIMITS["min"] <= len(filters) <= FILTER_LIMITS["max"]:
        raise constraint_error(
            filters,
            f"filterCriteria.{name}",
            f"Member must have length between {FILTER_LIMITS['min']} and {FILTER_LIMITS['max']}",
        )
    for each in filters:
        if not isinstance(each, dict):
            raise constraint_error(each, f"filterCriteria.{name}.member", "Member must be a structure")
    return filters


def _string_test(name: str, filters: list[dict[str, Any]]) -> Callable[[Any], bool]:
    equal: list[str] = []
    unequal: list[str] = []
    for each in filters:
        comparison, value = each.get("comparison"), each.get("value")
        if comparison not in STRING_COMPARISONS:
            raise constraint_error(
                comparison,
                f"filterCriteria.{name}.member.comparison",
                f"Member must satisfy enum value set: [{', '.join(STRING_COMPARISONS)}]",
            )
        if not isinstance(value, str) or not STRING_LIMITS["min"] <= len(value) <= STRING_LIMITS["max"]:
            raise constraint_error(
                value,
                f"filterCriteria.{name}.member.value",
                f"Member must have length between {STRING_LIMITS['min']} and {STRING_LIMITS['max']}",
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
            raise constraint_error(
                each.get("comparison"),
                f"filterCriteria.{name}.member.comparison",
                f"Member must satisfy enum value set: [{', '.join(MAP_COMPARISONS)}]",
            )
        if not isinstance(each.get("key"), str) or not each["key"]:
            raise constraint_error(each.get("key"), f"filterCriteria.{name}.member.key", "Member must not be null")
    # Tag maps belong to EC2 instances, Lambda functions and other clouds' resources, never to an ECR row.
    return lambda attribute: False


def _range_test(name: str, filters: list[dict[str, Any]], low: str, high: str) -> Callable[[Any], bool]:
    ranges: list[tuple[float | None, float | None]] = []
    for each in filters:
        bounds = []
        for key in (low, high):
            bound = each.get(key)
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int | float)):
                raise constraint_error(bound, f"filterCriteria.{name}.member.{key}", "Member must be a number")
            bounds.append(bound)
        ranges.append((bounds[0], bounds[1]))

    def test(attribute: Any) -> bool:
        if attribute is None:
            return False
        value = attribute.timestamp() if isinstance(attribute, datetime) else attribute
        return any((lo is None or value >= lo) and (hi is None or value <= hi) for lo, hi in ranges)

    return test


def criteria_test(criteria: Any) -> Callable[[Covered], bool]:
    if criteria is None:
        return lambda row: True
    if not isinstance(criteria, dict):
        raise constraint_error(criteria, "filterCriteria", "Member must be a structure")
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
