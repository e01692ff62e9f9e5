"""The retention tag grammar: a repository tag value becomes a retention policy, or an error."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from ecr_sweeper.constants import MAX_RETENTION_DAYS

KEEP_WORDS = frozenset({"off", "never", "keep"})

# ASCII digits only: str.isdigit() and \d would also accept other scripts' digits and
# superscripts, which int() reads in surprising ways.
_DAYS = re.compile(r"([0-9]+)d?", re.ASCII)

GRAMMAR = f"a whole number of days N or Nd from 0 to {MAX_RETENTION_DAYS}, or off, never or keep"


@dataclass(frozen=True)
class Retention:
    """Untagged digests expire `days` days after their push and their last recorded pull."""

    days: int

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.days)

    def __str__(self) -> str:
        return f"{self.days}d"


@dataclass(frozen=True)
class KeepForever:
    """Nothing in the repository is ever deleted (`off`, `never` or `keep`)."""

    word: str

    def __str__(self) -> str:
        return self.word


RetentionPolicy = Retention | KeepForever


class InvalidRetention(ValueError):
    """A retention value outside the grammar. Nothing is deleted on its account."""

    def __init__(self, value: str, why: str) -> None:
        self.value = value
        self.why = why
        super().__init__(f"{value!r} is not a retention value ({why}); expected {GRAMMAR}")


def parse_retention(value: str) -> RetentionPolicy:
    """Read `N`, `Nd`, `off`, `never` or `keep`; surrounding whitespace and case do not matter."""
    text = value.strip().lower()
    if text in KEEP_WORDS:
        return KeepForever(text)
    match = _DAYS.fullmatch(text)
    if match is None:
        raise InvalidRetention(value, "empty" if not text else "not a whole number of days")
    digits = match.group(1).lstrip("0") or "0"
    # Compare lengths first: int() of a 5,000-digit string raises ValueError on Python 3.11+.
    if len(digits) > len(str(MAX_RETENTION_DAYS)) or int(digits) > MAX_RETENTION_DAYS:
        raise InvalidRetention(value, f"more than {MAX_RETENTION_DAYS} days")
    return Retention(int(digits))
