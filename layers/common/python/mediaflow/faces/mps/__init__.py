"""The MPS JSON face: ProcessMedia and its queries (routes), the task service (tasks) and the planning of
a task from the SDK's request (plan)."""
