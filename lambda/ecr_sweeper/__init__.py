"""ecr-sweeper: delete expired untagged ECR image digests, and say why."""
