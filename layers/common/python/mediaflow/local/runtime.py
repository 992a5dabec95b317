"""The embedded local runtime: moto in server mode plus Lambda-like local workers.

Everything that makes the emulator run our functions lives here:

* moto serves the AWS endpoint (S3, SQS, DynamoDB, Step Functions, Lambda, CloudFormation, ...)
  on http://127.0.0.1:4566 from this process;
* ``LambdaFunction._invoke_lambda`` (which needs Docker in moto) is replaced by a pool of warm
  worker processes per function, each with the function's environment from the template, its
  CodeUri and its layers' ``python/`` on the import path, the layers' ``bin/`` on PATH, the
  template's Timeout enforced, and the AWS endpoint pointed back at this emulator;
* S3 -> Lambda notifications are invoked asynchronously (as S3 does) instead of inside PutObject;
* SQS event source mappings are served by pollers that behave like Lambda's: batches, partial
  batch responses, messages left for redelivery on error (moto itself only invokes at send time);
  one poller per mapping (the Dispatcher takes external buckets' upload events from its own queue
  beside the input bucket's S3 notifications);
* Step Functions executions run for real;
* AWS's rules are kept: each function's calls are authorised against its role (`iam.py`), a state
  machine's Lambda tasks and Distributed Maps against its role (`map_run_iam.py`), and
  Lambda's concurrency and payload quotas and Step Functions' 256 KiB state limit hold (`limits.py`);
* the HTTP API is served on 127.0.0.1 by the local front (`front.py`), which hands API Gateway's
  payload v2.0 events to the deployed ApiFunction through the emulator's Lambda Invoke;
* every function is told the ports of the emulator and of the API (LOCAL_RESERVED_PORTS), which
  loopback callbacks and URL inputs may not reach: the emulator's admin API would wipe the stack.

Longer than 400 lines: the patches to moto are made together at start-up and share the runtime's
state (worker pools, pollers, the concurrency limiter); rules that stand alone are in their own modules
(`iam.py`, `limits.py`, `map_run_iam.py`, `front.py`, `worker.py`).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from ..notify.urls import RESERVED_PORTS_ENV
from . import iam, limits, map_run_iam

logger = logging.getLogger("mediaflow.local")

DEFAULT_PORT = 4566
API_PORT = 4567
REGION = "us-east-1"
WORKER_SCRIPT = Path(__file__).with_name("worker.py")
ASYNC_RETRY_DELAYS = (1.0, 2.0)  # Lambda retries a failed async invocation twice
# Template parameters for local use: callbacks to the developer's own machine, compressed retries.
# Moto's Transcribe returns a fixed sample transcript, so locally only the embedded engine recognises.
# Any ConverterImageUri creates the converter; the local deployer runs it with this machine's LibreOffice.
LOCAL_CONVERTER_IMAGE = "local/mediaflow-converter:host-libreoffice"
LOCAL_PARAMETERS = {"AllowLoopbackCallbacks": "true", "CallbackRetrySeconds": "1,2,3", "NotifyMaxReceiveCount": "4",
                    "TranscribeLanguages": "none", "ConverterImageUri": LOCAL_CONVERTER_IMAGE}


def atomic_table_requests() -> None:
    """Apply each DynamoDB request atomically, as DynamoDB does. moto's backend takes no lock, so
    two workers' conditional updates (a queue slot, a claim) could otherwise both pass."""
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler.call_action, "atomic", False):
        return
    lock = threading.RLock()
    unlocked = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with lock:
            return unlocked(self)

    call_action.atomic = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


def report_eventbridge_setting() -> None:
    """GetBucketNotificationConfiguration answers `<EventBridgeConfiguration/>` when a bucket sends its
    events to EventBridge, as S3 does; moto keeps the setting but leaves it out of the answer."""
    from moto.s3.responses import S3Response

    if getattr(S3Response.get_bucket_notification, "reports_eventbridge", False):
        return
    unreported = S3Response.get_bucket_notification

    def get_bucket_notification(self: Any) -> Any:
        status, headers, body = unreported(self)
        configuration = self.backend.get_bucket_notification_configuration(self.bucket_name)
        if configuration is not None and configuration.event_bridge is not None and isinstance(body, (str, bytes)):
            text = body.decode() if isinstance(body, bytes) else body
            if "<EventBridgeConfiguration" not in text:
                if "</NotificationConfiguration>" in text:
                    text = text.replace("</NotificationConfiguration>",
                                        "<EventBridgeConfiguration/></NotificationConfiguration>")
                else:
                    text = text.replace("/>", "><EventBridgeConfiguration/></NotificationConfiguration>", 1) \
                        if text.rstrip().endswith("/>") else text
            body = text
        return status, headers, body

    get_bucket_notification.reports_eventbridge = True  # type: ignore[attr-defined]
    S3Response.get_bucket_notification = get_bucket_notification  # type: ignore[method-assign]


# moto invokes SQS-mapped functions inside SendMessage and never redelivers; pollers (or tests)
# take that role, so moto's queues keep no mappings of their own.
NO_INLINE_MAPPINGS = property(lambda self: {}, lambda self, value: None)


def aws_client(service: str, endpoint: str, *, attempts: int = 2, **config: Any) -> Any:
    """A boto3 client for the emulator, with dummy credentials."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": attempts, "mode": "standard"}, **config),
    )


def _enabled(name: str, default: bool = True) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() not in ("0", "off", "false", "no")


@dataclass
class FunctionSpec:
    """What a worker needs to behave like the deployed function."""

    name: str
    handler: str
    timeout: float
    memory: int
    environment: dict[str, str]
    code_dir: Path
    layer_dirs: list[Path] = field(default_factory=list)
    iam_facts: Path | None = None  # the role's policies, checked in the worker; None: not checked


class InvocationError(Exception):
    def __init__(self, error: dict[str, Any]):
        super().__init__(error.get("errorMessage", "invocation failed"))
        self.error = error


class Worker:
    """One warm process serving one function; replaced when it times out or dies."""

    def __init__(self, spec: FunctionSpec, endpoint: str, log_dir: Path):
        self.spec = spec
        layers_python = [str(d / "python") for d in spec.layer_dirs]
        layers_bin = [str(d / "bin") for d in spec.layer_dirs if (d / "bin").is_dir()]
        env = {
            **{k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "TMPDIR", "SYSTEMROOT")},
            "PATH": os.pathsep.join([*layers_bin, os.environ.get("PATH", "")]),
            "LAMBDA_TASK_PATH": os.pathsep.join([str(spec.code_dir), *layers_python]),
            "_HANDLER": spec.handler,
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(spec.timeout)),
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_ENDPOINT_URL": endpoint,
            # No X-Ray daemon locally; Powertools would otherwise try to emit segments.
            "POWERTOOLS_TRACE_DISABLED": "true",
            "PYTHONUNBUFFERED": "1",
            **spec.environment,
            **({iam.FACTS_ENV: str(spec.iam_facts)} if spec.iam_facts else {}),
        }
        self.log = open(log_dir / f"{spec.name}.log", "ab")
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=env,
            cwd=str(spec.code_dir),
            text=True,
        )
        self.replies: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read_replies, daemon=True).start()

    def _read_replies(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.replies.put(line)
        self.replies.put(None)

    def invoke(self, event: Any, timeout: float) -> Any:
        request_id = str(uuid.uuid4())
        request = {"request_id": request_id, "event": event, "deadline": time.time() + timeout}
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        try:
            line = self.replies.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            raise InvocationError(
                {"errorType": "Sandbox.Timedout", "errorMessage": f"Task timed out after {timeout:.2f} seconds"}
            ) from None
        if line is None:
            self.stop()
            raise InvocationError({"errorType": "Runtime.ExitError", "errorMessage": "worker process exited"})
        reply = json.loads(line)
        if not reply["ok"]:
            raise InvocationError(reply["error"])
        return reply["result"]

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.alive:
            self.process.kill()
        self.process.wait()
        self.log.close()


class WorkerPool:
    """Warm workers of one function, at most `size` at once (the function's concurrency)."""

    def __init__(self, spec: FunctionSpec, endpoint: str, log_dir: Path, size: int):
        self.spec, self.endpoint, self.log_dir = spec, endpoint, log_dir
        self.idle: list[Worker] = []
        self.lock = threading.Lock()
        self.slots = threading.Semaphore(size)

    def invoke(self, event: Any) -> Any:
        with self.slots:
            with self.lock:
                worker = self.idle.pop() if self.idle else None
            if worker is None or not worker.alive:
                worker = Worker(self.spec, self.endpoint, self.log_dir)
            try:
                return worker.invoke(event, self.spec.timeout)
            finally:
                with self.lock:
                    current = worker.spec is self.spec
                    if worker.alive and current:
                        self.idle.append(worker)
                if worker.alive and not current:
                    worker.stop()  # started before the function's environment changed

    def prewarm(self) -> None:
        """Start one worker now, so that its init (imports) is done before the first event arrives."""
        worker = Worker(self.spec, self.endpoint, self.log_dir)
        with self.lock:
            self.idle.append(worker)

    def respec(self, spec: FunctionSpec) -> None:
        """Run the function with `spec` from now on: idle workers are replaced, busy ones retire when done."""
        with self.lock:
            self.spec, stale, self.idle = spec, self.idle, []
        for worker in stale:
            worker.stop()
        if stale:
            self.prewarm()

    def stop(self) -> None:
        with self.lock:
            for worker in self.idle:
                worker.stop()
            self.idle.clear()


class LocalRuntime:
    """Starts the emulator, runs functions locally, polls event source mappings."""

    def __init__(self, *, port: int = DEFAULT_PORT, state_dir: Path | str = ".mediaflow", concurrency: int = 4,
                 prewarm: bool = True, account_concurrency: int | None = None, enforce_iam: bool | None = None):
        """`concurrency`: worker processes per function (a local resource bound). `account_concurrency`:
        Lambda's account limit on in-flight invocations (default $MEDIAFLOW_LOCAL_CONCURRENCY or AWS's
        1,000). `enforce_iam`: authorise functions' calls against their roles (default on; off with
        $MEDIAFLOW_LOCAL_IAM=off, for debugging)."""
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self.reserved_ports = {port}  # the emulator's and the API's: no callback may reach them
        self.state_dir = Path(state_dir).resolve()
        self.log_dir = self.state_dir / "logs"
        self.concurrency = concurrency
        self.prewarm = prewarm
        self.limiter = limits.Concurrency(
            account_concurrency or int(os.environ.get("MEDIAFLOW_LOCAL_CONCURRENCY") or limits.ACCOUNT_CONCURRENCY))
        self.enforce_iam = _enabled("MEDIAFLOW_LOCAL_IAM") if enforce_iam is None else enforce_iam
        self.role_facts: dict[str, dict[str, Any]] = {}  # state machine role ARN -> its policies
        self.artifacts: dict[str, Path] = {}  # emulator S3 key of a code zip -> local folder it came from
        self.dead_letter_queues: dict[str, str] = {}  # function name -> its async dead-letter queue
        self.pools: dict[str, WorkerPool] = {}
        self.pools_lock = threading.Lock()
        self.async_invokes = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lambda-async")
        self.stopping = threading.Event()
        self.pollers: list[threading.Thread] = []
        self.server: Any = None
        self.front: Any = None

    # ------------------------------------------------------------------ emulator
    def start(self) -> LocalRuntime:
        from moto.server import ThreadedMotoServer

        self.log_dir.mkdir(parents=True, exist_ok=True)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        _check_port_free(self.port)
        # moto's Step Functions interpreter calls Lambda at localhost:$MOTO_PORT.
        os.environ["MOTO_PORT"] = str(self.port)
        self._patch_moto()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self.front is not None:
            self.front.stop()
        for poller in self.pollers:
            poller.join(timeout=5)
        self.async_invokes.shutdown(wait=False, cancel_futures=True)
        with self.pools_lock:
            for pool in self.pools.values():
                pool.stop()
        if self.server is not None:
            self.server.stop()

    def client(self, service: str, **config: Any) -> Any:
        return aws_client(service, self.endpoint, **config)

    def _patch_moto(self) -> None:
        from moto.awslambda import models as lambda_models
        from moto.core.config import default_user_config
        from moto.s3 import notifications
        from moto.sqs import models as sqs_models
        from moto.stepfunctions import models as sfn_models
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        runtime = self

        default_user_config["stepfunctions"]["execute_state_machine"] = True
        # State machines created by CloudFormation must land in the executing backend.
        sfn_models.stepfunctions_backends = stepfunctions_parser_backends

        def _invoke_lambda(function: Any, event: Any = None) -> tuple[str, bool, str]:
            if isinstance(event, (str, bytes)):
                event = json.loads(event or "{}")
            try:
                result = runtime.invoke(function, event if event is not None else {})
                return json.dumps(result), False, ""
            except InvocationError as error:
                return json.dumps(error.error), True, error.error.get("errorMessage", "")

        lambda_models.LambdaFunction._invoke_lambda = _invoke_lambda
        def invoke(function: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
            return runtime._lambda_api_invoke(function, body, request_headers, response_headers)

        lambda_models.LambdaFunction.invoke = invoke
        # moto's own response check uses sys.getsizeof against 6,000,000; ours (the exact quota) comes first.
        from moto.awslambda import responses as lambda_responses

        lambda_responses.sys = _NoSizeOf
        limits.patch_step_functions(runtime._authorise_lambda_task if runtime.enforce_iam else None)
        if runtime.enforce_iam:
            map_run_iam.patch_distributed_map(runtime._denied_to_state_machine)

        def _invoke_awslambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
            function = lambda_models.lambda_backends[account_id][region_name].get_function(fn_arn)
            runtime.async_invokes.submit(runtime.invoke_async, function, event_body)

        notifications._invoke_awslambda = _invoke_awslambda

        sqs_models.Queue.lambda_event_source_mappings = NO_INLINE_MAPPINGS
        atomic_table_requests()
        report_eventbridge_setting()

    def up(self, template: Path, *, stack_name: str = "mediaflow", parameters: dict[str, str] | None = None) -> Any:
        """Deploy the template, remember where each artifact came from, start the queue pollers."""
        from .deploy import deploy

        stack = deploy(template, stack_name=stack_name, clients=self.client,
                       # buckets named after the stack, as before BucketPrefix: stacks of one emulator stay apart
                       parameters={**LOCAL_PARAMETERS, "BucketPrefix": stack_name, **(parameters or {})},
                       cache_dir=self.state_dir / "artifacts")
        self.artifacts.update(stack.artifacts)
        self.dead_letter_queues.update(stack.dead_letter_queues)
        for function in self._stack_functions(stack):
            self.limiter.reserve(function.function_name, function.reserved_concurrency)
        if self.prewarm:
            self._prewarm(stack)
        self.start_pollers()
        return stack

    def start_api(self, stack: Any, *, port: int = API_PORT) -> Any:
        """Serve the stack's ApiFunction over HTTP on 127.0.0.1 (port 0: any free port), as API Gateway would."""
        from .front import ApiFront, lambda_invoker

        # One attempt: a retried invoke would run a request twice; API Gateway gives up after 30 s.
        lambda_client = self.client("lambda", attempts=1, read_timeout=60)
        front = ApiFront(lambda_invoker(lambda_client, stack.resources["ApiFunction"]), port=port)
        self.reserve_port(urlsplit(front.url).port or port)  # known once bound (port 0: any free port)
        self.front = front.start()
        return self.front

    def reserve_port(self, port: int) -> None:
        """Tell every function (those running too) that `port` on loopback is the local stack's own."""
        with self.pools_lock:
            self.reserved_ports.add(port)
            pools = list(self.pools.values())
        for pool in pools:
            pool.respec(replace(pool.spec, environment={**pool.spec.environment, **self._local_environment()}))

    def _local_environment(self) -> dict[str, str]:
        """What only the local runtime adds to a function's environment."""
        return {RESERVED_PORTS_ENV: ",".join(str(port) for port in sorted(self.reserved_ports))}

    def access_keys(self, stack: Any, key_id: str | None = None, secret_key: str | None = None) -> tuple[str, str]:
        """The API key pair of the stack: `key_id`/`secret_key` put into its AccessKeys secret when given,
        else the pair generated when it was deployed."""
        secrets = self.client("secretsmanager")
        arn = stack.outputs["AccessKeysSecretArn"]
        if key_id and secret_key:
            secrets.put_secret_value(SecretId=arn, SecretString=json.dumps({"SecretId": key_id, "SecretKey": secret_key}))
        pair = json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])
        return pair["SecretId"], pair["SecretKey"]

    def _stack_functions(self, stack: Any) -> list[Any]:
        from moto.awslambda.models import lambda_backends

        names = set(stack.resources.values())
        return [lambda_backends[f["FunctionArn"].split(":")[4]][REGION].get_function(f["FunctionArn"])
                for f in self.client("lambda").list_functions()["Functions"] if f["FunctionName"] in names]

    def _prewarm(self, stack: Any) -> None:
        """One warm worker per function of the stack, like provisioned concurrency (workers start in the background)."""
        for function in self._stack_functions(stack):
            self.pool(function).prewarm()

    # ------------------------------------------------------------------ functions
    def spec_for(self, function: Any) -> FunctionSpec:
        from moto.awslambda.models import lambda_backends

        backend = lambda_backends[function.account_id][function.region]
        layer_dirs = []
        for layer in function.layers:
            version = backend.layers_versions_by_arn(layer["Arn"])
            layer_dirs.append(self.artifacts[version.content["S3Key"]])
        return FunctionSpec(
            name=function.function_name,
            handler=function.handler,
            timeout=float(function.timeout),
            memory=int(function.memory_size),
            # CloudFormation hands a Number parameter over as text; moto keeps it a number
            environment={**{name: str(value) for name, value in (function.environment_vars or {}).items()},
                         **self._local_environment()},
            code_dir=self.artifacts[function.code["S3Key"]],
            layer_dirs=layer_dirs,
            iam_facts=self._write_role_facts(function) if self.enforce_iam else None,
        )

    @staticmethod
    def _managed_policy_arns(role_arn: str) -> list[str]:
        """The ManagedPolicyArns a stack gave a role (its conditions and Refs resolved by moto's
        CloudFormation, which creates roles without attaching them)."""
        from moto.cloudformation.models import cloudformation_backends
        from moto.cloudformation.parsing import clean_json

        role_name = role_arn.rsplit("/", 1)[-1]
        for stack in cloudformation_backends[role_arn.split(":")[4]][REGION].stacks.values():
            resource_map = stack.resource_map
            for logical, resource in resource_map._resource_json_map.items():
                if resource.get("Type") != "AWS::IAM::Role":
                    continue
                role = resource_map[logical]
                if getattr(role, "name", None) == role_name:
                    arns = clean_json(resource.get("Properties", {}).get("ManagedPolicyArns", []), resource_map)
                    return [arn for arn in arns or [] if isinstance(arn, str)]
        return []

    def _write_role_facts(self, function: Any) -> Path:
        facts = iam.role_facts(self.client("iam"), function.role, function.function_name,
                               self._managed_policy_arns(function.role))
        path = self.state_dir / "iam" / f"{function.function_name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(facts, indent=1))
        return path

    def pool(self, function: Any) -> WorkerPool:
        with self.pools_lock:
            pool = self.pools.get(function.function_name)
            if pool is None:
                pool = WorkerPool(self.spec_for(function), self.endpoint, self.log_dir, self.concurrency)
                self.pools[function.function_name] = pool
            return pool

    def invoke(self, function: Any, event: Any, *, wait: bool = True) -> Any:
        """Run one invocation once the account and the function have a free slot: `wait` for one (as
        Lambda's async queue and event source pollers do), or raise limits.Throttled (synchronous)."""
        name = function.function_name
        if not wait:
            self.limiter.acquire(name)
        elif not self.limiter.wait(name, self.stopping):
            raise InvocationError({"errorType": "Runtime.Stopping", "errorMessage": "the local runtime is stopping"})
        try:
            return self.pool(function).invoke(event)
        finally:
            self.limiter.release(name)

    def _lambda_api_invoke(self, function: Any, body: str | bytes, request_headers: Any, response_headers: Any) -> bytes:
        """moto's LambdaFunction.invoke (the Invoke API) with Lambda's payload limits and throttling."""
        invocation_type = request_headers.get("x-amz-invocation-type", "RequestResponse")
        limit = limits.ASYNC_REQUEST_BYTES if invocation_type == "Event" else limits.SYNC_REQUEST_BYTES
        raw = body.encode() if isinstance(body, str) else (body or b"")
        if len(raw) > limit:
            raise RequestTooLarge(limit)
        event = json.loads(raw or b"{}")
        if invocation_type == "DryRun":
            return b""
        if invocation_type == "Event":
            self.async_invokes.submit(self.invoke_async, function, event)
            return b""
        try:
            result = json.dumps(self.invoke(function, event, wait=False)).encode()
        except limits.Throttled as throttled:
            logger.warning("throttled %s: %s", function.function_name, throttled.reason)
            raise TooManyRequests(throttled.reason) from None
        except InvocationError as error:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(error.error).encode()
        if len(result) > limits.SYNC_RESPONSE_BYTES:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorMessage": f"Response payload size exceeded maximum allowed payload size "
                                               f"({limits.SYNC_RESPONSE_BYTES} bytes).",
                               "errorType": "Function.ResponseSizeTooLarge"}).encode()
        return result

    def _denied_to_state_machine(self, env: Any, action: str, resource: str) -> str | None:
        """None if the executing state machine's role may do `action` on `resource`, else AWS's refusal."""
        role_arn = env.states.context_object.context_object_data["Execution"]["RoleArn"]
        facts = self.role_facts.get(role_arn)
        if facts is None:
            facts = self.role_facts[role_arn] = iam.role_facts(self.client("iam"), role_arn, "local-states",
                                                               self._managed_policy_arns(role_arn))
        if iam.decide(facts["policies"], action, resource) == "Allow":
            return None
        message = (f"User: {facts['session_arn']} is not authorized to perform: {action} on resource: "
                   f"{resource} because no identity-based policy allows the {action} action")
        logger.warning("IAM (local): %s", message)
        return message

    def _authorise_lambda_task(self, env: Any, parameters: dict[str, Any]) -> None:
        """A Lambda task of a state machine runs only if the state machine's role may invoke it."""
        from botocore.exceptions import ClientError

        message = self._denied_to_state_machine(env, "lambda:InvokeFunction", str(parameters["FunctionName"]))
        if message is not None:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": message},
                               "ResponseMetadata": {"HTTPStatusCode": 403}}, "Invoke")

    def invoke_async(self, function: Any, event: Any) -> None:
        """Lambda's asynchronous invocation: two retries, then the function's dead-letter queue."""
        error: InvocationError | None = None
        for delay in (0.0, *ASYNC_RETRY_DELAYS):
            if self.stopping.wait(delay):
                return
            try:
                self.invoke(function, event)
                return
            except InvocationError as failed:
                error = failed
                logger.warning("async invocation of %s failed: %s", function.function_name, failed)
        queue_url = self.dead_letter_queues.get(function.function_name)
        if queue_url and error is not None:
            self.client("sqs").send_message(
                QueueUrl=queue_url, MessageBody=json.dumps(event),
                MessageAttributes={
                    "ErrorCode": {"DataType": "String", "StringValue": error.error.get("errorType", "Unhandled")},
                    "ErrorMessage": {"DataType": "String", "StringValue": str(error)[:1024] or "failed"},
                },
            )

    # ------------------------------------------------------------------ event source mappings
    def start_pollers(self) -> None:
        lambda_client = self.client("lambda")
        for mapping in lambda_client.list_event_source_mappings()["EventSourceMappings"]:
            if mapping["EventSourceArn"].startswith("arn:aws:sqs:") and mapping.get("State", "Enabled") == "Enabled":
                poller = threading.Thread(
                    target=self._poll_queue, args=(mapping,), daemon=True, name=f"esm-{mapping['UUID'][:8]}"
                )
                poller.start()
                self.pollers.append(poller)

    def _poll_queue(self, mapping: dict[str, Any]) -> None:
        from moto.awslambda.models import lambda_backends

        sqs = self.client("sqs", read_timeout=30)
        queue_arn = mapping["EventSourceArn"]
        account, name = queue_arn.split(":")[4], queue_arn.split(":")[5]
        queue_url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        function = lambda_backends[account][REGION].get_function(mapping["FunctionArn"])
        partial = "ReportBatchItemFailures" in mapping.get("FunctionResponseTypes", [])
        while not self.stopping.is_set():
            try:
                received = sqs.receive_message(
                    QueueUrl=queue_url,
                    MaxNumberOfMessages=min(int(mapping.get("BatchSize", 10)), 10),
                    WaitTimeSeconds=1,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            except Exception as error:  # the emulator is going away, or hiccuped
                if self.stopping.wait(0.5):
                    return
                logger.warning("polling %s failed: %s", name, error)
                continue
            if received:
                self._deliver_batch(sqs, queue_url, queue_arn, function, received, partial)

    def _deliver_batch(
        self, sqs: Any, queue_url: str, queue_arn: str, function: Any, messages: list[dict], partial: bool
    ) -> None:
        event = {"Records": [sqs_record(message, queue_arn) for message in messages]}
        try:
            result = self.invoke(function, event)
        except InvocationError as error:
            # The whole batch becomes visible again after its visibility timeout.
            logger.warning("%s failed on a batch of %d: %s", function.function_name, len(messages), error)
            return
        failed: set[str] = set()
        if partial and isinstance(result, dict):
            failed = {item["itemIdentifier"] for item in result.get("batchItemFailures") or []}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])],
            )


class _NoSizeOf:
    """Stands in for `sys` in moto's Lambda responses, whose only use is a rough response-size check."""

    @staticmethod
    def getsizeof(_: Any) -> int:
        return 0


def _lambda_error(code: str, status: int, message: str, **fields: Any) -> Any:
    from moto.awslambda.exceptions import LambdaClientError

    error = LambdaClientError(code, message)
    error.code = status
    error.description = json.dumps({"__type": code, "Type": "User", "message": message, **fields})
    return error


def TooManyRequests(reason: str) -> Any:  # noqa: N802 (an exception, made as moto makes its own)
    """Lambda's throttle: 429 TooManyRequestsException, with the Reason AWS gives."""
    return _lambda_error("TooManyRequestsException", 429, "Rate Exceeded.", Reason=reason)


def RequestTooLarge(limit: int) -> Any:  # noqa: N802
    return _lambda_error("RequestTooLargeException", 413,
                         f"Request must be smaller than {limit} bytes for the InvokeFunction operation")


def _check_port_free(port: int) -> None:
    """moto's threaded server waits forever if it cannot bind; say why instead."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise RuntimeError(
                f"port {port} on 127.0.0.1 is in use ({error.strerror}): is another `mediaflow local up` "
                "running? Stop it or choose another port with --port."
            ) from None


def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """An SQS message as Lambda's event source mapping hands it to the function."""
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }
