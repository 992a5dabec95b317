"""What the API manages and the pipeline records: jobs, workflows, templates, queues and their limits
(guardrails), job submission and the buckets the stack serves. May import notify,
persistence, the engines and the basics; never the pipeline or a face."""
