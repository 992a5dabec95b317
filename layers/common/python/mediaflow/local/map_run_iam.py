"""What a Distributed Map asks of its state machine's role, checked locally as AWS checks it.

moto's interpreter reads a Distributed Map's items, starts its child executions and writes its
results with credentials of its own, so a role lacking the permissions would pass locally and fail
on AWS. These checks come first, against the executing state machine's role:

* starting the map run: ``states:StartExecution`` on the state machine (each child is an execution
  of it); refused, the map run fails with ``States.Runtime``;
* the ItemReader's ``s3:GetObject`` on the object it reads; refused, ``States.ItemReaderFailed``;
* the ResultWriter's ``s3:PutObject`` under its prefix; refused, ``States.ResultWriterFailed``.

`denied(env, action, resource)` answers None when the role allows the action, else AWS's message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Denied = Callable[[Any, str, str], "str | None"]


def s3_object_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def patch_distributed_map(denied: Denied) -> None:
    from moto.stepfunctions.parser.api import HistoryEventType, MapRunFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval import (
        resource_eval_s3 as reader,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        distributed_iteration_component as iteration,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (
        resource_eval_s3 as writer,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    if getattr(iteration.DistributedIterationComponent, "checks_role", False):
        return

    def check(env: Any, action: str, resource: str, error: StatesErrorNameType) -> None:
        message = denied(env, action, resource)
        if message is None:
            return
        name = StatesErrorName(typ=error)
        raise FailureEventException(FailureEvent(
            env=env, error_name=name, event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(mapRunFailedEventDetails=MapRunFailedEventDetails(
                error=name.error_name, cause=message))))

    run_map = iteration.DistributedIterationComponent._map_run

    def _map_run(self: Any, env: Any, eval_input: Any) -> None:
        machine = env.states.context_object.context_object_data["StateMachine"]["Id"]
        check(env, "states:StartExecution", machine, StatesErrorNameType.StatesRuntime)
        run_map(self, env=env, eval_input=eval_input)

    iteration.DistributedIterationComponent._map_run = _map_run

    read = reader.ResourceEvalS3._handle_get_object

    def _handle_get_object(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
        parameters = env.stack[-1]
        check(env, "s3:GetObject", s3_object_arn(parameters["Bucket"], parameters["Key"]),
              StatesErrorNameType.StatesItemReaderFailed)
        read(env, resource_runtime_part, state_credentials)

    reader.ResourceEvalS3._handle_get_object = staticmethod(_handle_get_object)

    write = writer.ResourceEvalS3._handle_put_object

    def _handle_put_object(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
        parameters = env.stack[-1]
        prefix = parameters.get("Prefix", "").rstrip("/")
        check(env, "s3:PutObject", s3_object_arn(parameters["Bucket"], f"{prefix}/manifest.json"),
              StatesErrorNameType.StatesResultWriterFailed)
        write(env, resource_runtime_part, state_credentials)

    writer.ResourceEvalS3._handle_put_object = staticmethod(_handle_put_object)
    iteration.DistributedIterationComponent.checks_role = True
