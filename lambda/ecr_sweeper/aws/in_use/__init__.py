"""Which ECR digests the workloads of a region run, or will pull at their next scale-out: one module
per source (functions, ecs, batch, apprunner, sagemaker, eks, inspector), the consumer accounts of a
central registry (consumers), the call wrapper with its fix-it texts (calls), the values (values),
the in-use cache's store (cache), and the scan that reads them all, with the cache (scan)."""
