"""The retention tag grammar: every valid and invalid form."""

from __future__ import annotations

import pytest

from ecr_sweeper.core.policy import InvalidRetention, KeepForever, Retention, parse_retention


@pytest.mark.parametrize(
    ("value", "days"),
    [
        ("0", 0),
        ("3", 3),
        ("3d", 3),
        ("3D", 3),
        (" 7 ", 7),
        ("\t14d\n", 14),
        ("007", 7),
        ("3650", 3650),
        ("3650d", 3650),
        ("0d", 0),
    ],
)
def test_valid_day_counts(value: str, days: int) -> None:
    # Given a valid retention tag value: digits, with or without d or D, and blanks around them
    # When it is parsed, then it is that many days of retention
    assert parse_retention(value) == Retention(days)


@pytest.mark.parametrize("value", ["off", "never", "keep", "OFF", " Never ", "KeEp"])
def test_keep_words_keep_everything(value: str) -> None:
    # Given one of the words off, never or keep, in any case and with blanks around it
    # When it is parsed, then it keeps everything, named by the word in lower case
    assert parse_retention(value) == KeepForever(value.strip().lower())


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "-1",
        "+1",
        "7 days",
        "7 d",
        "7days",
        "d",
        "1.5",
        "1e3",
        "",
        "   ",
        "99999",
        "3651",
        "3651d",
        "3dd",
        "d3",
        "٣",  # Arabic-Indic digit three: a digit to str.isdigit, not to the grammar
        "³",
        "9" * 5000,  # longer than int() accepts on Python 3.11+
        "offf",
        "no",
        "0x10",
    ],
)
def test_invalid_values_raise_with_the_value_in_the_message(value: str) -> None:
    # Given an invalid retention tag value
    # When it is parsed
    with pytest.raises(InvalidRetention) as caught:
        parse_retention(value)

    # Then it is refused, with the value and the expected form in the message
    assert caught.value.value == value
    assert "expected a whole number of days" in str(caught.value)


def test_retention_window_and_text() -> None:
    # Given a retention of 3 days and a keep word
    # Then the retention reads 3d and is a window of 3 days
    assert str(Retention(3)) == "3d"
    assert Retention(3).window.days == 3
    # And the keep word reads as itself
    assert str(KeepForever("never")) == "never"
