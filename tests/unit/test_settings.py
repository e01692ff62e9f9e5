"""Settings from the environment and run options from the event, validated at the edge."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from ecr_sweeper.core.policy import Retention
from ecr_sweeper.core.settings import ConfigError, RunOptions, Settings


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.retention_tag_key == "ecr-sweeper:retention-days"
    assert settings.default_retention == Retention(7)
    assert settings.dry_run is False
    assert settings.service_name == "ecr-sweeper"
    assert settings.metrics_namespace == "EcrSweeper"
    assert settings.log_level == "INFO"
    # The function previews nothing unless the stack (context previewDays) says so.
    assert settings.preview_days == 0 and settings.first_run_parameter is None
    # Nor does it cache what the in-use scan read, unless the stack names the bucket.
    assert settings.in_use_cache_bucket is None


def test_the_in_use_cache_bucket_is_an_s3_bucket_name() -> None:
    name = "ecrsweeper-inusecachebucket1a2b3c4d-0123456789ab"
    assert Settings.from_env({"IN_USE_CACHE_BUCKET": name}).in_use_cache_bucket == name
    assert Settings.from_env({"IN_USE_CACHE_BUCKET": ""}).in_use_cache_bucket is None


@pytest.mark.parametrize("value", ["off", "OFF", "never", "keep"])
def test_default_retention_off_is_opt_in_mode(value: str) -> None:
    assert Settings.from_env({"DEFAULT_RETENTION_DAYS": value}).default_retention is None


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("false", False), ("TRUE", True), (" False ", False)])
def test_dry_run_values(value: str, expected: bool) -> None:
    assert Settings.from_env({"DRY_RUN": value}).dry_run is expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DRY_RUN": "yes"}, "DRY_RUN='yes' is invalid"),
        ({"DRY_RUN": "1"}, "DRY_RUN='1' is invalid"),
        ({"DRY_RUN": ""}, "DRY_RUN='' is invalid"),
        ({"DEFAULT_RETENTION_DAYS": "-1"}, "DEFAULT_RETENTION_DAYS='-1' is invalid"),
        ({"DEFAULT_RETENTION_DAYS": "3651"}, "DEFAULT_RETENTION_DAYS='3651' is invalid"),
        ({"DEFAULT_RETENTION_DAYS": ""}, "DEFAULT_RETENTION_DAYS='' is invalid"),
        ({"RETENTION_TAG_KEY": ""}, "RETENTION_TAG_KEY='' is invalid"),
        ({"RETENTION_TAG_KEY": "x" * 129}, "RETENTION_TAG_KEY='xxx"),
        ({"RETENTION_TAG_KEY": "bad*key"}, "RETENTION_TAG_KEY='bad*key' is invalid"),
        # "keep " would match no repository's tag: every repository would be swept by the default.
        ({"RETENTION_TAG_KEY": "keep "}, "RETENTION_TAG_KEY='keep ' is invalid: it starts or ends with whitespace"),
        ({"RETENTION_TAG_KEY": " ecr-sweeper:retention-days"}, "starts or ends with whitespace"),
        ({"PREVIEW_DAYS": "a week"}, "PREVIEW_DAYS='a week' is invalid"),
        ({"PREVIEW_DAYS": "-1"}, "PREVIEW_DAYS='-1' is invalid"),
        ({"PREVIEW_DAYS": "366"}, "PREVIEW_DAYS='366' is invalid"),
        ({"POWERTOOLS_LOG_LEVEL": "verbose"}, "POWERTOOLS_LOG_LEVEL='verbose' is invalid"),
        ({"POWERTOOLS_METRICS_NAMESPACE": " "}, "POWERTOOLS_METRICS_NAMESPACE=' ' is invalid"),
        ({"POWERTOOLS_SERVICE_NAME": ""}, "POWERTOOLS_SERVICE_NAME='' is invalid"),
        ({"IN_USE_CACHE_BUCKET": "My_Bucket"}, "IN_USE_CACHE_BUCKET='My_Bucket' is invalid: expected an S3 bucket"),
        ({"IN_USE_CACHE_BUCKET": "s3://cache"}, "IN_USE_CACHE_BUCKET='s3://cache' is invalid"),
        ({"IN_USE_CACHE_BUCKET": "ab"}, "IN_USE_CACHE_BUCKET='ab' is invalid"),
        ({"IN_USE_CACHE_BUCKET": "a..b"}, "IN_USE_CACHE_BUCKET='a..b' is invalid"),
    ],
)
def test_invalid_settings_name_the_variable_and_the_value(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("*", r"\*")):
        Settings.from_env(env)


SETTINGS = Settings.from_env({})
DRY_SETTINGS = Settings.from_env({"DRY_RUN": "true"})


@pytest.mark.parametrize("event", [None, {}])
def test_empty_events_use_the_settings(event: Any) -> None:
    assert RunOptions.from_event(event, DRY_SETTINGS) == RunOptions(dry_run=True)


def test_scheduled_event_is_accepted_as_it_is() -> None:
    event = {
        "version": "0",
        "id": "x",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-27T03:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }
    assert RunOptions.from_event(event, SETTINGS) == RunOptions(dry_run=False)


def test_full_manual_event() -> None:
    options = RunOptions.from_event(
        {"dryRun": True, "repositories": ["a/b", "c", "a/b"], "asOf": "2026-12-04T03:00:00+01:00"}, SETTINGS
    )
    assert options.dry_run is True
    assert options.repositories == ("a/b", "c")
    assert options.as_of == datetime(2026, 12, 4, 2, 0, tzinfo=timezone.utc)


def test_as_of_without_a_zone_is_utc_and_z_is_accepted() -> None:
    naive = RunOptions.from_event({"dryRun": True, "asOf": "2026-12-04"}, SETTINGS)
    zulu = RunOptions.from_event({"dryRun": True, "asOf": "2026-12-04T00:00:00Z"}, SETTINGS)
    assert naive.as_of == zulu.as_of == datetime(2026, 12, 4, tzinfo=timezone.utc)


def test_as_of_is_allowed_when_the_environment_makes_it_a_dry_run() -> None:
    assert RunOptions.from_event({"asOf": "2026-12-04"}, DRY_SETTINGS).dry_run is True


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"dryRun": "true"}, "dryRun='true' is invalid"),
        ({"dryRun": 1}, "dryRun=1 is invalid"),
        ({"repositories": "app"}, "repositories='app' is invalid"),
        ({"repositories": []}, "repositories=[] is invalid"),
        ({"repositories": [1]}, "entry 1 is not a valid"),
        ({"repositories": ["UPPER"]}, "entry 'UPPER' is not a valid"),
        ({"repositories": ["a//b"]}, "entry 'a//b' is not a valid"),
        ({"asOf": "2026-12-04"}, "only allowed in a dry run"),
        ({"asOf": "2026-12-04", "dryRun": False}, "only allowed in a dry run"),
        ({"asOf": "tomorrow", "dryRun": True}, "asOf='tomorrow' is invalid"),
        ({"asOf": None, "dryRun": True}, "asOf=None is invalid"),
        ({"dry_run": True}, "'dry_run'"),
        ({"source": "aws.events", "dryRun": True}, "'source'"),
        ("run", "event 'run' is invalid"),
        (["a"], "event ['a'] is invalid"),
    ],
)
def test_invalid_events(event: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        RunOptions.from_event(event, SETTINGS)
    assert message in str(caught.value)


# --- central registries: consumer accounts ---------------------------------------------------------


def test_no_consumer_accounts_by_default() -> None:
    consumers = Settings.from_env({}).consumers
    assert not consumers.enabled
    assert consumers.role_name == "ecr-sweeper-reader" and consumers.ignored == ()


def test_consumer_accounts_are_a_list_of_ids_or_the_organization() -> None:
    listed = Settings.from_env(
        {
            "CONSUMER_ACCOUNTS": " 210987654321, 111122223333,210987654321 ",
            "CONSUMER_ROLE_NAME": "team+reader@central",
            "CONSUMER_ACCOUNTS_IGNORED": "999988887777,111122223333",
        }
    ).consumers
    assert listed.enabled and not listed.organization
    assert listed.accounts == ("210987654321", "111122223333")
    assert listed.ignored == ("111122223333", "999988887777")
    assert listed.role_arn("aws-cn", "210987654321") == "arn:aws-cn:iam::210987654321:role/team+reader@central"
    organization = Settings.from_env({"CONSUMER_ACCOUNTS": "organization"}).consumers
    assert organization.enabled and organization.organization and organization.accounts == ()


def test_the_accounts_read_leave_out_the_sweepers_own_and_the_ignored_ones_sorted() -> None:
    consumers = Settings.from_env(
        {"CONSUMER_ACCOUNTS": "organization", "CONSUMER_ACCOUNTS_IGNORED": "333333333333"}
    ).consumers
    listed = ["444444444444", "123456789012", "333333333333", "222222222222"]
    assert consumers.to_read("123456789012", listed) == ("222222222222", "444444444444")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CONSUMER_ACCOUNTS": "21098765432"}, "CONSUMER_ACCOUNTS='21098765432' is invalid: '21098765432' is not"),
        ({"CONSUMER_ACCOUNTS": "210987654321,prod"}, "CONSUMER_ACCOUNTS='210987654321,prod' is invalid: 'prod'"),
        # organization is all or nothing: a list would silently read only the listed accounts.
        ({"CONSUMER_ACCOUNTS": "organization,210987654321"}, "or organization alone"),
        ({"CONSUMER_ACCOUNTS": "org"}, "CONSUMER_ACCOUNTS='org' is invalid"),
        ({"CONSUMER_ACCOUNTS_IGNORED": "organization"}, "CONSUMER_ACCOUNTS_IGNORED='organization' is invalid"),
        ({"CONSUMER_ACCOUNTS_IGNORED": "2109 8765 4321"}, "CONSUMER_ACCOUNTS_IGNORED='2109 8765 4321' is invalid"),
        ({"CONSUMER_ROLE_NAME": ""}, "CONSUMER_ROLE_NAME='' is invalid"),
        ({"CONSUMER_ROLE_NAME": "path/reader"}, "CONSUMER_ROLE_NAME='path/reader' is invalid"),
        ({"CONSUMER_ROLE_NAME": "r" * 65}, "CONSUMER_ROLE_NAME='rrr"),
    ],
)
def test_invalid_consumer_settings_name_the_variable_and_the_value(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert message in str(caught.value)
