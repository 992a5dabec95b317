"""The stack on one machine: the local deployer of template.yaml, the runtime that runs its functions
and state machine (with AWS's IAM, size and concurrency rules), and the demo. Imports anything below it."""
