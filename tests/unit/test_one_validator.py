"""One validator per setting: a context key of the stack and the function's environment variable
for the same setting refuse the same values with the same words (core/validators.py), and what the
stack writes into the function's environment is read back as it was meant."""

from __future__ import annotations

from typing import Any

import pytest

from ecr_sweeper.core.settings import ConfigError, Settings
from infra.config import ContextError, SweeperConfig

# Context key -> the function's variable for the same setting, and a value both must refuse.
SHARED = {
    "defaultRetentionDays": ("DEFAULT_RETENTION_DAYS", "7 days"),
    "retentionTagKey": ("RETENTION_TAG_KEY", "bad*key"),
    "dryRun": ("DRY_RUN", "maybe"),
    "protectInUse": ("PROTECT_IN_USE", "yes"),
    "maxWorkers": ("MAX_WORKERS", "65"),
    "previewDays": ("PREVIEW_DAYS", "366"),
    "logLevel": ("POWERTOOLS_LOG_LEVEL", "chatty"),
    "regions": ("REGIONS", "Mars"),
    "eksClustersIgnored": ("EKS_CLUSTERS_IGNORED", "no spaces"),
    "inspectorInUse": ("INSPECTOR_IN_USE", "sometimes"),
    "consumerAccounts": ("CONSUMER_ACCOUNTS", "21098765432"),
    "consumerRoleName": ("CONSUMER_ROLE_NAME", "team/reader"),
    "consumerAccountsIgnored": ("CONSUMER_ACCOUNTS_IGNORED", "organization"),
    "repositoriesPerInvocation": ("REPOSITORIES_PER_INVOCATION", "0"),
}


def from_context(context: dict[str, Any]) -> SweeperConfig:
    return SweeperConfig.from_context(context.get)


@pytest.mark.parametrize("key", sorted(SHARED))
def test_a_context_key_and_its_variable_refuse_a_value_with_the_same_words(key: str) -> None:
    variable, bad = SHARED[key]
    # Given the same bad value for the context key and for the function's variable
    with pytest.raises(ContextError) as synth:
        from_context({key: bad})
    with pytest.raises(ConfigError) as start:
        Settings.from_env({variable: bad})
    # Then synth names the key, the function names its variable, and both say the same thing
    assert str(synth.value).startswith(f"context {key}={bad!r} is invalid: ")
    assert str(start.value).startswith(f"{variable}={bad!r} is invalid: ")
    assert str(synth.value).split(" is invalid: ", 1)[1] == str(start.value).split(" is invalid: ", 1)[1]


@pytest.mark.parametrize(
    "context",
    [
        {},
        {"defaultRetentionDays": "14d", "retentionTagKey": "team/retention", "dryRun": "true", "logLevel": "debug"},
        {"maxWorkers": 64, "previewDays": 0, "regions": ["eu-west-1", "us-east-1"], "inspectorInUse": "Required"},
        {"defaultRetentionDays": "off", "eksClustersIgnored": "legacy,old-1", "protectInUse": False},
        {"consumerAccounts": "organization", "consumerRoleName": "reader", "consumerAccountsIgnored": ["310987654321"]},
        {"consumerAccounts": "210987654321, 310987654321", "engine": "stepfunctions", "repositoriesPerInvocation": 50},
    ],
)
def test_what_the_stack_writes_the_function_reads_as_it_was_meant(context: dict[str, Any]) -> None:
    # Given a valid context, when the function starts with the environment the stack gives it
    config = from_context(context)
    settings = Settings.from_env(config.function_environment())
    # Then every setting reads back as the stack validated it
    assert settings.max_workers == config.max_workers and settings.preview_days == config.preview_days
    assert settings.regions == config.regions and settings.dry_run == config.dry_run
    assert settings.protect_in_use == config.protect_in_use and settings.retention_tag_key == config.retention_tag_key
    assert settings.default_retention_text == config.default_retention_days.lower()
    assert settings.eks_clusters_ignored == frozenset(config.eks_clusters_ignored)
    assert settings.inspector_in_use == config.inspector_in_use and settings.log_level == config.log_level
    assert settings.consumers == config.consumers
