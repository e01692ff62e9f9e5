"""Where deployed stacks find the Step Functions steps' handler (`ecr_sweeper.stepfunctions.handler`);
the face itself is faces/steps.py."""

from ecr_sweeper.faces.steps import handler

__all__ = ["handler"]
