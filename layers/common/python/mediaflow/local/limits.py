"""The Lambda and Step Functions quotas the local runtime enforces, as AWS does.

* Concurrency (`Concurrency`): in-flight invocations are counted per account and per function, as
  Lambda counts them; a function with ``ReservedConcurrentExecutions`` draws only on its
  reservation, every other function on the unreserved rest. An invocation that finds no slot is
  throttled (`Throttled`): a synchronous Invoke answers ``TooManyRequestsException`` (429), which
  Step Functions sees as ``Lambda.TooManyRequestsException``; asynchronous events and SQS event
  source mappings wait and retry instead, as Lambda's internal queue and pollers do.
* Payloads: Invoke requests over 6 MB (synchronous) or 1 MB (asynchronous) are refused with
  ``RequestTooLargeException`` (413); a response over 6 MB fails the invocation with
  ``Function.ResponseSizeTooLarge``.
* Step Functions (`patch_step_functions`, over moto's port of LocalStack's interpreter): a state's
  input or output over 256 KiB fails the execution with ``States.DataLimitExceeded``, which
  ``States.ALL`` does not catch or retry (nor ``States.Runtime``), as the AWS error-handling guide
  says (moto checks each state's output and a Lambda task's result; so does this, at AWS's size);
  StartExecution refuses a larger input; a Lambda task's API error is named
  ``Lambda.<ErrorCode>`` as on AWS, or ``Lambda.AWSLambdaException`` for a code Invoke does not
  model such as AccessDeniedException (moto names them all ``Exception``).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from typing import Any

# Lambda quota "Concurrent executions": 1,000 per account and Region by default.
ACCOUNT_CONCURRENCY = 1000
# Lambda keeps at least 100 of the account's 1,000 unreserved (PutFunctionConcurrency refuses more
# reservations). Locally the same tenth of the limit is kept, so that 10 keeps 1: minimum
# unreserved = min(100, ceil(limit / 10)).
MIN_UNRESERVED, MIN_UNRESERVED_SHARE = 100, 10
# Lambda quota "Invocation payload (request and response)": 6 MB synchronous, 1 MB asynchronous.
SYNC_REQUEST_BYTES = 6 * 1024 * 1024  # 6,291,456
ASYNC_REQUEST_BYTES = 1024 * 1024
SYNC_RESPONSE_BYTES = 6_291_556  # the figure Lambda's Function.ResponseSizeTooLarge message names
# Step Functions quota "Maximum input or output size for a task, state, or execution": 256 KiB of
# data as a UTF-8 encoded string.
STATE_BYTES = 256 * 1024


def min_unreserved(limit: int) -> int:
    return min(MIN_UNRESERVED, math.ceil(limit / MIN_UNRESERVED_SHARE))


class Throttled(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # ConcurrentInvocationLimitExceeded or ReservedFunctionConcurrentInvocationLimitExceeded


class Concurrency:
    """In-flight invocations of an account, with functions' reservations (`reserved`: function name ->
    ReservedConcurrentExecutions, None when it has none)."""

    def __init__(self, limit: int = ACCOUNT_CONCURRENCY):
        if limit < 1:
            raise ValueError("the account concurrency limit must be at least 1")
        self.limit = limit
        self.reservations: dict[str, int] = {}
        self.running: dict[str, int] = {}
        self.unreserved_running = 0
        self.freed = threading.Condition()

    def reserve(self, function: str, reserved: int | None) -> None:
        """Record a function's reservation; refused as PutFunctionConcurrency refuses it on AWS."""
        with self.freed:
            others = sum(n for name, n in self.reservations.items() if name != function)
            if reserved is not None and self.limit - others - int(reserved) < min_unreserved(self.limit):
                raise ValueError(
                    f"Specified ReservedConcurrentExecutions for function {function} decreases account's "
                    f"UnreservedConcurrentExecution below its minimum value of [{min_unreserved(self.limit)}] "
                    f"(account concurrency {self.limit}).")
            if reserved is None:
                self.reservations.pop(function, None)
            else:
                self.reservations[function] = int(reserved)

    def acquire(self, function: str) -> None:
        """Take a slot for one invocation of `function`, or raise Throttled."""
        with self.freed:
            if not self._try(function):
                reason = ("ReservedFunctionConcurrentInvocationLimitExceeded" if function in self.reservations
                          else "ConcurrentInvocationLimitExceeded")
                raise Throttled(reason)

    def wait(self, function: str, stopping: threading.Event) -> bool:
        """Take a slot, waiting for one as Lambda's async queue and pollers do; False when stopping."""
        with self.freed:
            while not self._try(function):
                if stopping.is_set():
                    return False
                self.freed.wait(0.5)
            return True

    def release(self, function: str) -> None:
        with self.freed:
            self.running[function] -= 1
            if function not in self.reservations:
                self.unreserved_running -= 1
            self.freed.notify_all()

    def _try(self, function: str) -> bool:
        if function in self.reservations:
            if self.running.get(function, 0) >= self.reservations[function]:
                return False
        else:
            unreserved = self.limit - sum(self.reservations.values())
            if self.unreserved_running >= unreserved:
                return False
            self.unreserved_running += 1
        self.running[function] = self.running.get(function, 0) + 1
        return True


def payload_bytes(value: Any) -> int:
    return len(value if isinstance(value, bytes) else json.dumps(value).encode())


# ------------------------------------------------------------------ Step Functions
def patch_step_functions(authorise_lambda: Callable[[Any, dict[str, Any]], None] | None = None) -> None:
    """Make moto's interpreter keep Step Functions' size rules and error names (see the module's
    docstring). `authorise_lambda(env, parameters)`, when given, runs before each Lambda task's
    Invoke and raises botocore's ClientError to refuse it (the state machine role's permissions)."""
    from botocore.exceptions import ClientError

    from moto.stepfunctions.parser import models as parser_models
    from moto.stepfunctions.parser import quotas
    from moto.stepfunctions.parser.asl.component.common.error_name import error_equals_decl
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state import state
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils, state_task_lambda
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service
    from moto.stepfunctions.exceptions import ValidationException

    if getattr(error_equals_decl.ErrorEqualsDecl, "aws_limits", False):
        return

    # 256 KiB is allowed, one byte more is not (moto refuses 256 KiB itself).
    def is_within_size_quota(value: Any) -> bool:
        text = value if isinstance(value, str) else quotas.to_json_str(value)
        return len(text.encode("utf-8")) <= STATE_BYTES

    for module in (quotas, state, state_task_lambda, state_task_service):
        module.is_within_size_quota = is_within_size_quota

    # States.ALL matches neither States.DataLimitExceeded nor States.Runtime.
    uncatchable = [StatesErrorName(typ=StatesErrorNameType.StatesStatesDataLimitExceeded),
                   StatesErrorName(typ=StatesErrorNameType.StatesRuntime)]  # ErrorName is not hashable
    evaluate_error_equals = error_equals_decl.ErrorEqualsDecl._eval_body

    def _eval_body(self: Any, env: Any) -> None:
        error_name = env.stack[-1]
        if error_name in uncatchable and error_name not in self.error_names:
            env.stack.pop()
            env.stack.append(False)
            return
        evaluate_error_equals(self, env)

    error_equals_decl.ErrorEqualsDecl._eval_body = _eval_body
    error_equals_decl.ErrorEqualsDecl.aws_limits = True

    # A Lambda task's API error is Lambda.<ErrorCode> for the errors Invoke models (e.g.
    # Lambda.TooManyRequestsException), else Lambda.AWSLambdaException (e.g. AccessDeniedException).
    import botocore.session

    modeled = {shape.name for shape in
               botocore.session.get_session().get_service_model("lambda").operation_model("Invoke").error_shapes}
    from_error = state_task_lambda.StateTaskLambda._from_error

    def _from_error(self: Any, env: Any, ex: Exception) -> Any:
        failure = from_error(self, env, ex)
        if isinstance(ex, ClientError):
            code = ex.response["Error"].get("Code", "ServiceException")
            name = f"Lambda.{code}" if code in modeled else "Lambda.AWSLambdaException"
            failure.error_name = CustomErrorName(name)
            details = failure.event_details["lambdaFunctionFailedEventDetails"]
            details["error"] = name
            status = ex.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
            details["cause"] = (f"{ex.response['Error'].get('Message', '')} (Service: AWSLambda; Status Code: {status}; "
                                f"Error Code: {code})")
        return failure

    state_task_lambda.StateTaskLambda._from_error = _from_error

    if authorise_lambda is not None:
        execute = lambda_eval_utils.execute_lambda_function_integration

        def execute_lambda_function_integration(env: Any, parameters: dict, region: str, state_credentials: Any) -> None:
            authorise_lambda(env, parameters)
            execute(env, parameters, region, state_credentials)

        lambda_eval_utils.execute_lambda_function_integration = execute_lambda_function_integration

    # StartExecution refuses an input over the quota.
    start_execution = parser_models.StepFunctionsParserBackend.start_execution

    def start_execution_within_quota(self: Any, state_machine_arn: str, name: Any = None,
                                     execution_input: Any = None, *args: Any, **kwargs: Any) -> Any:
        if execution_input is not None and len(str(execution_input).encode("utf-8")) > STATE_BYTES:
            raise ValidationException(
                "1 validation error detected: Value at 'input' failed to satisfy constraint: "
                f"Member must have length less than or equal to {STATE_BYTES}")
        return start_execution(self, state_machine_arn, name, execution_input, *args, **kwargs)

    parser_models.StepFunctionsParserBackend.start_execution = start_execution_within_quota
