"""Settings from the environment and run options from the event, validated at the edge."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from ecr_sweeper.core.policy import Retention
from ecr_sweeper.core.settings import ConfigError, RunOptions, Settings


def test_defaults() -> None:
    # Given an empty environment
    # When the settings are read from it
    settings = Settings.from_env({})

    # Then the tag key, the retention of 7 days, real deletions, the names and the log level are the defaults
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
    # Given the name of an S3 bucket in IN_USE_CACHE_BUCKET
    # When the settings are read, then it is the cache bucket
    assert Settings.from_env({"IN_USE_CACHE_BUCKET": name}).in_use_cache_bucket == name
    # And an empty IN_USE_CACHE_BUCKET means no cache
    assert Settings.from_env({"IN_USE_CACHE_BUCKET": ""}).in_use_cache_bucket is None


@pytest.mark.parametrize("value", ["off", "OFF", "never", "keep"])
def test_default_retention_off_is_opt_in_mode(value: str) -> None:
    # Given DEFAULT_RETENTION_DAYS set to a keep word
    # When the settings are read, then there is no default retention: only tagged repositories are swept
    assert Settings.from_env({"DEFAULT_RETENTION_DAYS": value}).default_retention is None


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("false", False), ("TRUE", True), (" False ", False)])
def test_dry_run_values(value: str, expected: bool) -> None:
    # Given DRY_RUN set to true or false, in any case and with blanks around it
    # When the settings are read, then dry run is that value
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
    # Given an environment with one invalid setting
    # When the settings are read, then they are refused, naming the variable and its value
    with pytest.raises(ConfigError, match=message.replace("*", r"\*")):
        Settings.from_env(env)


SETTINGS = Settings.from_env({})
DRY_SETTINGS = Settings.from_env({"DRY_RUN": "true"})


@pytest.mark.parametrize("event", [None, {}])
def test_empty_events_use_the_settings(event: Any) -> None:
    # Given settings with DRY_RUN true, and no event or an empty one
    # When the run options are read, then the run is a dry run, as the settings say
    assert RunOptions.from_event(event, DRY_SETTINGS) == RunOptions(dry_run=True)


def test_scheduled_event_is_accepted_as_it_is() -> None:
    # Given a scheduled event from EventBridge, and the default settings
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

    # When the run options are read, then the event is accepted and the run is real
    assert RunOptions.from_event(event, SETTINGS) == RunOptions(dry_run=False)


def test_full_manual_event() -> None:
    # Given a manual event with dryRun, a repository list with a repeat, and asOf with a zone
    # When the run options are read
    options = RunOptions.from_event(
        {"dryRun": True, "repositories": ["a/b", "c", "a/b"], "asOf": "2026-12-04T03:00:00+01:00"}, SETTINGS
    )

    # Then the run is a dry run, of each repository once, in order, as of that instant in UTC
    assert options.dry_run is True
    assert options.repositories == ("a/b", "c")
    assert options.as_of == datetime(2026, 12, 4, 2, 0, tzinfo=timezone.utc)


def test_as_of_without_a_zone_is_utc_and_z_is_accepted() -> None:
    # Given an asOf without a zone, and one ending in Z
    # When the run options are read
    naive = RunOptions.from_event({"dryRun": True, "asOf": "2026-12-04"}, SETTINGS)
    zulu = RunOptions.from_event({"dryRun": True, "asOf": "2026-12-04T00:00:00Z"}, SETTINGS)

    # Then both are midnight UTC of that day
    assert naive.as_of == zulu.as_of == datetime(2026, 12, 4, tzinfo=timezone.utc)


def test_as_of_is_allowed_when_the_environment_makes_it_a_dry_run() -> None:
    # Given settings with DRY_RUN true, and an event with asOf but without dryRun
    # When the run options are read, then asOf is accepted and the run is a dry run
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
    # Given an invalid event
    # When the run options are read
    with pytest.raises(ConfigError) as caught:
        RunOptions.from_event(event, SETTINGS)

    # Then the event is refused, and the message names what is wrong
    assert message in str(caught.value)


# --- central registries: consumer accounts ---------------------------------------------------------


def test_no_consumer_accounts_by_default() -> None:
    # Given an empty environment
    # When the settings are read
    consumers = Settings.from_env({}).consumers

    # Then no consumer account is read, the role is ecr-sweeper-reader, and no account is ignored
    assert not consumers.enabled
    assert consumers.role_name == "ecr-sweeper-reader" and consumers.ignored == ()


def test_consumer_accounts_are_a_list_of_ids_or_the_organization() -> None:
    # Given a list of consumer accounts with blanks and a repeat, a role name, and ignored accounts
    # When the settings are read
    listed = Settings.from_env(
        {
            "CONSUMER_ACCOUNTS": " 210987654321, 111122223333,210987654321 ",
            "CONSUMER_ROLE_NAME": "team+reader@central",
            "CONSUMER_ACCOUNTS_IGNORED": "999988887777,111122223333",
        }
    ).consumers

    # Then the listed accounts are on, each once and in order, and the ignored ones are sorted
    assert listed.enabled and not listed.organization
    assert listed.accounts == ("210987654321", "111122223333")
    assert listed.ignored == ("111122223333", "999988887777")
    # And the role ARN is in the partition asked for
    assert listed.role_arn("aws-cn", "210987654321") == "arn:aws-cn:iam::210987654321:role/team+reader@central"
    # And with organization, every account of the organization is read, none listed
    organization = Settings.from_env({"CONSUMER_ACCOUNTS": "organization"}).consumers
    assert organization.enabled and organization.organization and organization.accounts == ()


def test_the_accounts_read_leave_out_the_sweepers_own_and_the_ignored_ones_sorted() -> None:
    # Given every account of the organization, with one ignored
    consumers = Settings.from_env(
        {"CONSUMER_ACCOUNTS": "organization", "CONSUMER_ACCOUNTS_IGNORED": "333333333333"}
    ).consumers

    # When the organization lists the sweeper's own account, the ignored one and two others
    listed = ["444444444444", "123456789012", "333333333333", "222222222222"]

    # Then only the two others are read, sorted
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
    # Given an invalid consumer setting
    # When the settings are read
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)

    # Then they are refused, naming the variable and its value
    assert message in str(caught.value)
