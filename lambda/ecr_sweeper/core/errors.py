"""How an AWS error reads in a log line or a summary: `Code: message`, whatever raised it."""

from __future__ import annotations


def error_code(error: BaseException) -> str:
    """The AWS error code of a botocore ClientError (or of anything shaped like one), else ""."""
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:
        return str(response["Error"].get("Code", ""))
    return ""


def describe_error(error: BaseException) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:
        code = response["Error"].get("Code", type(error).__name__)
        return f"{code}: {response['Error'].get('Message', '')}".rstrip(": ")
    return f"{type(error).__name__}: {error}"
