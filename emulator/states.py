"""moto's Step Functions interpreter, corrected where the engine relies on it.

- A distributed Map's ResultWriter writes the iterations' outputs to S3 as SUCCEEDED_n.json files
  and lists them in manifest.json (Step Functions developer guide, "ResultWriter"). moto writes an
  empty manifest (its parser marks the result files as a TODO).
"""

from __future__ import annotations

import json
from typing import Any

from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3 import (
    ResourceEvalS3,
)


def _handle_put_object(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
    parameters = env.stack.pop()
    results = env.stack.pop()
    s3 = ResourceEvalS3._get_s3_client(resource_runtime_part=resource_runtime_part, state_credentials=state_credentials)
    map_run_arn = env.map_run_record_pool_manager.get_all().pop().map_run_arn
    prefix = parameters["Prefix"]
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    folder = f"{prefix}{map_run_arn.split(':')[-1]}/"
    body = json.dumps([{"Output": json.dumps(result), "Status": "SUCCEEDED"} for result in results]).encode()
    s3.put_object(Bucket=parameters["Bucket"], Key=f"{folder}SUCCEEDED_0.json", Body=body)
    manifest = {
        "DestinationBucket": parameters["Bucket"],
        "MapRunArn": map_run_arn,
        "ResultFiles": {
            "FAILED": [],
            "PENDING": [],
            "SUCCEEDED": [{"Key": f"{folder}SUCCEEDED_0.json", "Size": len(body)}],
        },
    }
    s3.put_object(Bucket=parameters["Bucket"], Key=f"{folder}manifest.json", Body=json.dumps(manifest).encode())
    env.stack.append(
        {
            "MapRunArn": map_run_arn,
            "ResultWriterDetails": {"Bucket": parameters["Bucket"], "Key": f"{folder}manifest.json"},
        }
    )


def _install() -> None:
    """Called by emulator.install(), once, under its lock."""
    ResourceEvalS3._handle_put_object = staticmethod(_handle_put_object)
