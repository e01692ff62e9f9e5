"""The manual's reference tables against the code they describe, so that neither drifts: a context
key, environment setting, metric or log record type that the code has and its table lacks (or that
the table lists and the code no longer has) fails here, and so does a documented default or unit
that the code does not use."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

# Where the code keeps what the tables list. Modules move between folders: change these lines only.
from ecr_sweeper.core import constants as settings_constants  # every *_ENV constant names one variable
from ecr_sweeper.core.metrics import METRICS  # metric name -> (reader, unit)
from infra.app import ROOT
from infra.config import DEFAULTS  # context key -> default

# The code that writes log records: every record_type is a string literal somewhere below.
RECORD_SOURCES = ROOT / "lambda" / "ecr_sweeper"
RECORD_TYPE = (
    re.compile(r"""["']record_type["']\s*:\s*["'](\w+)["']"""),  # extra={"record_type": "verdict", ...}
    re.compile(r"""\brecord_type\s*=\s*["'](\w+)["']"""),  # record_type="verdict", should a helper take it
)

# The pages, and the first header cell of the table each test reads.
CONTEXT_KEYS = ROOT / "docs" / "reference" / "context-keys.md", "key"
ENVIRONMENT = ROOT / "docs" / "reference" / "environment.md", "variable"
METRICS_PAGE = ROOT / "docs" / "reference" / "metrics.md", "metric"
LOG_RECORDS = ROOT / "docs" / "reference" / "log-records.md", "`record_type`"

CODE = re.compile(r"`([^`]+)`")


def _cells(row: str) -> list[str]:
    """The cells of one Markdown table row; a `|` inside backticks belongs to its cell."""
    cells, cell, in_code = [], "", False
    for char in row.strip().strip("|"):
        if char == "`":
            in_code = not in_code
        if char == "|" and not in_code:
            cells.append(cell.strip())
            cell = ""
        else:
            cell += char
    return [*cells, cell.strip()]


def table(where: tuple[Path, str]) -> list[list[str]]:
    """The body rows of the table on `page` whose first header cell is `first`."""
    page, first = where
    lines = page.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|") and _cells(line)[0] == first:
            assert re.fullmatch(r"\|( *:?-+:? *\|)+", lines[i + 1].replace(" ", "")), f"{page}: no table under {line}"
            rows = []
            for row in lines[i + 2 :]:
                if not row.startswith("|"):
                    break
                rows.append(_cells(row))
            return rows
    raise AssertionError(f"{page.relative_to(ROOT)} has no table whose first column is {first}")


def names(cell: str) -> list[str]:
    """Every name a first cell lists (`vpcSubnetIds`, `vpcSecurityGroupIds` is two rows in one)."""
    found = CODE.findall(cell)
    assert found, f"no `name` in the first cell {cell!r}"
    return found


def documented_default(cell: str) -> Any:
    """The default as the table writes it: its first `code`, read as JSON when it is JSON
    (`false`, `30`, `"7"`, `[]`, `""`), else as the text itself (`cron(0 3 * * ? *)`, `INFO`)."""
    code = CODE.search(cell)
    assert code, f"no `default` in {cell!r}"
    try:
        return json.loads(code.group(1))
    except json.JSONDecodeError:
        return code.group(1)


def test_every_context_key_has_a_row_with_its_default() -> None:
    # Given the context keys table of the manual
    rows = table(CONTEXT_KEYS)
    # When its keys and defaults are read
    documented = {key: documented_default(row[1]) for row in rows for key in names(row[0])}
    # Then they are exactly the stack's keys, with the stack's defaults
    assert sorted(documented) == sorted(DEFAULTS), "context keys: the table and infra.config.DEFAULTS differ"
    wrong = {key: (value, DEFAULTS[key]) for key, value in documented.items() if value != DEFAULTS[key]}
    assert not wrong, f"documented default != DEFAULTS: {wrong}"


def test_every_environment_setting_has_a_row() -> None:
    # Given the function settings table, and the *_ENV constants the function and the stack share
    rows = table(ENVIRONMENT)
    variables = {
        value for name, value in vars(settings_constants).items() if name.endswith("_ENV") and isinstance(value, str)
    }
    # When the table's variables are read
    documented = [variable for row in rows for variable in names(row[0])]
    # Then each variable has exactly one row, and each row is a variable the code reads
    assert len(documented) == len(set(documented)), f"a variable has two rows: {sorted(documented)}"
    assert set(documented) == variables, (
        f"missing from the table: {sorted(variables - set(documented))}; "
        f"not a *_ENV constant: {sorted(set(documented) - variables)}"
    )


def test_every_metric_has_a_row_with_its_unit() -> None:
    # Given the metrics table, and the metrics every run emits
    rows = table(METRICS_PAGE)
    emitted = {name: str(getattr(unit, "value", unit)) for name, (_, unit) in METRICS.items()}
    # When the table's names and units are read
    documented = [(name, row[1].strip()) for row in rows for name in names(row[0])]
    # Then each metric has exactly one row, with the unit it is emitted with
    assert len(documented) == len(dict(documented)), "a metric has two rows"
    assert dict(documented) == emitted, (
        f"missing from the table: {sorted(set(emitted) - dict(documented).keys())}; "
        f"not emitted: {sorted(dict(documented).keys() - set(emitted))}; "
        f"units: {sorted((n, u, emitted.get(n)) for n, u in documented if emitted.get(n) not in (None, u))}"
    )


def test_every_log_record_type_has_a_row() -> None:
    # Given the log record types table, and every record_type the code writes
    rows = table(LOG_RECORDS)
    sources = sorted(RECORD_SOURCES.rglob("*.py"))
    written = {found for source in sources for pattern in RECORD_TYPE for found in pattern.findall(source.read_text())}
    assert "verdict" in written, f"no record_type found under {RECORD_SOURCES}: has the code moved?"
    # When the table's first column is read
    documented = [name for row in rows for name in names(row[0])]
    # Then each type has exactly one row, and each row is a type the code writes
    assert len(documented) == len(set(documented)), f"a record type has two rows: {sorted(documented)}"
    assert set(documented) == written, (
        f"missing from the table: {sorted(written - set(documented))}; "
        f"not written by the code: {sorted(set(documented) - written)}"
    )
