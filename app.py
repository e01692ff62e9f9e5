#!/usr/bin/env python3
"""CDK entry point. Makes no AWS calls: `cdk synth` works without credentials."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lambda"))

from aws_cdk import App

from infra.app import build

app = App()
build(app)
app.synth()
