"""Where deployed stacks find the function's handler (`ecr_sweeper.handler.lambda_handler`); the
Lambda face itself is faces/function.py."""

from ecr_sweeper.faces.function import lambda_handler

__all__ = ["lambda_handler"]
