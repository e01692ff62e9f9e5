"""The CDK side of ecr-sweeper: configuration from context, bundling, the stack."""
