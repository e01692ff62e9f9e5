"""The retention tag grammar, and a repository's tags to its policy (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from ecr_sweeper.core.constants import MAX_RETENTION_DAYS

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


@dataclass(frozen=True)
class RepositoryPolicy:
    """What a repository's tags say: sweep it with `retention`, or (None) not at all, and why."""

    retention: Retention | None
    # The retention as the repository summary shows it: "7d", "keep", "off", or the invalid value.
    shown: str
    # Why the repository is not swept; None when it is.
    detail: str | None = None
    # Set when the tag's value is outside the grammar: the repository is skipped, loudly.
    invalid: InvalidRetention | None = None


def repository_policy(tags: Mapping[str, str], key: str, default: Retention | None) -> RepositoryPolicy:
    """The repository's retention tag `key`, else `default` (None: opt-in mode, not swept)."""
    value = tags.get(key)
    if value is None:
        if default is None:
            return RepositoryPolicy(None, "off", f"no {key} tag, and the default retention is off (opt-in mode)")
        return RepositoryPolicy(default, str(default))
    try:
        policy = parse_retention(value)
    except InvalidRetention as error:
        return RepositoryPolicy(
            None, value, f"retention tag {key}={value!r} is invalid ({error.why}); nothing deleted", error
        )
    if isinstance(policy, KeepForever):
        return RepositoryPolicy(
            None, str(policy), f"retention tag {key}={value!r}: nothing in this repository is ever deleted"
        )
    return RepositoryPolicy(policy, str(policy))
