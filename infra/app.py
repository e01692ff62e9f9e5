"""Build the CDK app from context. Used by app.py and by the tests, so both synthesize the same thing."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from infra.config import SweeperConfig
from infra.reader import READER_STACK_NAME, EcrSweeperReaderStack
from infra.stack import EcrSweeperStack

ROOT = Path(__file__).resolve().parent.parent
CODE_PATH = ROOT / "lambda"
STACK_NAME = "EcrSweeper"


# Without it, a distributed Map silently drops ResultWriterV2 and returns every result in the state.
FEATURE_FLAGS = {"@aws-cdk/aws-stepfunctions:useDistributedMapResultWriterV2": True}


def build(app: App) -> EcrSweeperStack:
    for flag, value in FEATURE_FLAGS.items():
        if app.node.try_get_context(flag) is None:
            app.node.set_context(flag, value)
    config = SweeperConfig.from_context(app.node.try_get_context)
    # Environment-agnostic on purpose: synth needs no credentials and makes no AWS call.
    stack = EcrSweeperStack(app, STACK_NAME, config=config, code_path=CODE_PATH)
    if config.reader_stack:
        # For consumer accounts only, when asked for: a plain synth (and `cdk deploy`) has one stack.
        EcrSweeperReaderStack(app, READER_STACK_NAME, config=config)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack
