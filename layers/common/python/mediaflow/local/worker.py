"""A warm local Lambda worker: imports one handler once, then serves invocations.

Started by the local runtime as a plain script (stdlib only, so it does not depend on what
is on the function's path). Protocol: one JSON request per line on stdin,
``{"request_id", "event", "deadline"}``; one JSON reply per line on the original stdout,
``{"ok": true, "result": ...}`` or ``{"ok": false, "error": {errorType, errorMessage, stackTrace}}``.
Anything the handler prints goes to stderr, which the runtime keeps as the function's log.
When ``MEDIAFLOW_LOCAL_IAM_FACTS`` names a file of the function's role policies, every AWS call the
handler makes is authorised against them first (`iam.py` beside this file, loaded as a private
package so that it does not stand in for the function's own `mediaflow`).
"""

import importlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import time
import traceback


class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    def __init__(self, request_id: str, deadline: float):
        self.aws_request_id = request_id
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        region = os.environ.get("AWS_REGION", "us-east-1")
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def install_iam_guard(facts_path: str) -> None:
    spec = importlib.machinery.ModuleSpec("_mediaflow_local", None, is_package=True)
    spec.submodule_search_locations = [os.path.dirname(os.path.abspath(__file__))]
    sys.modules["_mediaflow_local"] = importlib.util.module_from_spec(spec)
    with open(facts_path) as facts:
        importlib.import_module("_mediaflow_local.iam").install_guard(json.load(facts))


def main() -> None:
    # Running as a script put this folder first on sys.path; Lambda would not have it.
    sys.path.pop(0)
    for entry in reversed(os.environ.get("LAMBDA_TASK_PATH", "").split(os.pathsep)):
        if entry:
            sys.path.insert(0, entry)
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    if os.environ.get("MEDIAFLOW_LOCAL_IAM_FACTS"):
        install_iam_guard(os.environ["MEDIAFLOW_LOCAL_IAM_FACTS"])

    # The init phase, as in Lambda: the handler module is imported before the first request arrives.
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
        init_error = None
    except Exception as error:  # reported on every request, as Lambda reports Runtime.ImportModuleError
        handler, init_error = None, error
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if init_error is not None:
                raise init_error
            result = handler(request["event"], LambdaContext(request["request_id"], request["deadline"]))
            reply = {"ok": True, "result": result}
        except Exception as error:  # every failure goes back to the caller, like Lambda does
            reply = {
                "ok": False,
                "error": {
                    "errorType": type(error).__name__,
                    "errorMessage": str(error),
                    "stackTrace": traceback.format_exception(error),
                },
            }
        sys.stderr.flush()
        replies.write(json.dumps(reply, default=str) + "\n")


if __name__ == "__main__":
    main()
