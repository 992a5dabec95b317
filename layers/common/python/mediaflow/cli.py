"""The `mediaflow` command: the local stack, the demo, and operations helpers."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from .exceptions import MediaflowError


def _parameters(pairs: list[str]) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in pairs)


def local_up(args: argparse.Namespace) -> int:
    from .local.runtime import LocalRuntime

    runtime = LocalRuntime(port=args.port, account_concurrency=args.account_concurrency,
                           enforce_iam=False if args.no_iam else None).start()
    stack = runtime.up(Path(args.template), stack_name=args.stack, parameters=_parameters(args.parameter))
    lines = [f"mediaflow local stack {stack.name!r} is up; AWS endpoint {runtime.endpoint}"]
    if "ApiFunction" in stack.resources and "AccessKeysSecretArn" in stack.outputs:
        # A local developer stack: the key pair is printed, and kept in .mediaflow/api.json for tools.
        key_id, secret_key = runtime.access_keys(stack, os.environ.get("MEDIAFLOW_ACCESS_KEY_ID"),
                                                 os.environ.get("MEDIAFLOW_SECRET_ACCESS_KEY"))
        api = runtime.start_api(stack, port=args.api_port)
        state = runtime.state_dir / "api.json"
        state.write_text(json.dumps({"url": api.url, "SecretId": key_id, "SecretKey": secret_key}))
        state.chmod(0o600)
        lines += [f"  API {api.url} (COS CI XML; MPS JSON: POST / with X-TC-Action; path style /buckets/<bucket>/...)",
                  f"  SecretId  {key_id}", f"  SecretKey {secret_key}   (also in {state})"]
    lines += [f"  {key:<26} {value}" for key, value in sorted(stack.outputs.items())]
    lines.append(f"logs of each function: {runtime.log_dir}/; Ctrl-C stops")
    print("\n".join(lines), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    runtime.stop()
    return 0


def openapi(args: argparse.Namespace) -> int:
    from .faces.app import openapi_document

    print(json.dumps(json.loads(openapi_document()), indent=2))
    return 0


def demo(args: argparse.Namespace) -> int:
    from .local.demo import run_demo

    return run_demo(Path(args.template), Path(args.input) if args.input else None, port=args.port)


def redrive(args: argparse.Namespace) -> int:
    import boto3

    from .notify.deliver import redrive as move

    outputs = {o["OutputKey"]: o["OutputValue"]
               for o in boto3.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"][0].get("Outputs", [])}
    skipped: list[str] = []

    def skip(message_id: str, reason: str) -> None:
        skipped.append(message_id)
        print(f"skipped message {message_id}: {reason}; left in the dead-letter queue", file=sys.stderr)

    moved = move(outputs["NotifyDeadLetterQueueUrl"], outputs["NotifyQueueUrl"], on_skip=skip)
    print(f"redrove {moved} notifications" + (f"; skipped {len(skipped)} messages that are not notifications"
                                               if skipped else ""))
    return 1 if skipped else 0


def show_deliveries(args: argparse.Namespace) -> int:
    from .notify.outbox import deliveries

    records = deliveries(args.subject)
    for record in records:
        print(f"{record.Id}  {record.Event:<14} {record.State:<9} attempts={record.Attempts}  {record.Target}"
              + (f"\n    {record.LastError}" if record.LastError else ""))
    if not records:
        print(f"no notifications for {args.subject}")
    return 0


def _keys_secret(args: argparse.Namespace) -> str:
    if args.secret_arn:
        return args.secret_arn
    import boto3

    outputs = {o["OutputKey"]: o["OutputValue"]
               for o in boto3.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"][0].get("Outputs", [])}
    return outputs["AccessKeysSecretArn"]


def keys(args: argparse.Namespace) -> int:
    """List, create, rotate or revoke API keys in the stack's keys secret (the API sees a change within
    the 5 minutes it keeps the keys)."""
    import boto3

    from .faces.keys import new_key, parse_keys, with_key, without_key

    secrets_manager, arn = boto3.client("secretsmanager"), _keys_secret(args)
    current = parse_keys(secrets_manager.get_secret_value(SecretId=arn)["SecretString"])
    if args.action == "list":
        for key in current.values():
            print(f"{key.SecretId}  buckets={','.join(key.Buckets)}  actions={','.join(key.Actions)}")
        return 0
    if args.action == "revoke":
        try:
            changed = without_key(current, args.key_id)
        except KeyError:
            raise RuntimeError(f"no key {args.key_id}") from None
        except ValueError as error:
            raise RuntimeError(str(error)) from None
        secrets_manager.put_secret_value(SecretId=arn, SecretString=changed)
        print(f"revoked {args.key_id}")
        return 0
    if args.action == "rotate":
        if args.key_id not in current:
            raise RuntimeError(f"no key {args.key_id}")
        old = current[args.key_id]
        key = new_key(old.Buckets, old.Actions)
    else:
        key = new_key(_listed(args.buckets), _listed(args.actions))
    secrets_manager.put_secret_value(SecretId=arn, SecretString=with_key(current, key))
    print(json.dumps({**key.public(), "SecretKey": key.SecretKey}))
    if args.action == "rotate":
        print(f"{args.key_id} stays valid until `mediaflow keys revoke {args.key_id}`", file=sys.stderr)
    return 0


def _listed(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mediaflow")
    commands = parser.add_subparsers(dest="command", required=True)

    local = commands.add_parser("local", help="the embedded local stack").add_subparsers(dest="action", required=True)
    up = local.add_parser("up", help="deploy template.yaml into the emulator and serve it on 127.0.0.1")
    up.add_argument("--port", type=int, default=4566)
    up.add_argument("--stack", default="mediaflow")
    up.add_argument("--template", default="template.yaml")
    up.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE")
    up.add_argument("--api-port", type=int, default=4567, help="port of the HTTP API on 127.0.0.1 (0: any free port)")
    up.add_argument("--account-concurrency", type=int, default=None, metavar="N",
                    help="Lambda's account concurrency limit (default $MEDIAFLOW_LOCAL_CONCURRENCY or AWS's 1000)")
    up.add_argument("--no-iam", action="store_true",
                    help="do not authorise functions' calls against their roles (debugging; also MEDIAFLOW_LOCAL_IAM=off)")
    up.set_defaults(func=local_up)

    document = commands.add_parser("openapi", help="print the API's OpenAPI document (docs/openapi.json)")
    document.set_defaults(func=openapi)

    run = commands.add_parser("demo", help="upload a video to the local stack and follow it to the callback")
    run.add_argument("--input", help="a video file (default: a generated test pattern)")
    run.add_argument("--port", type=int, default=4566)
    run.add_argument("--template", default="template.yaml")
    run.set_defaults(func=demo)

    notifications = commands.add_parser("notifications", help="notification operations").add_subparsers(dest="action", required=True)
    again = notifications.add_parser(
        "redrive", help="move failed notifications from the DLQ back to the queue",
        description="Move failed notifications from the dead-letter queue back to the notification queue. "
                    "Messages that are not notifications are reported and left where they are (exit status 1).")
    again.add_argument("--stack", default="mediaflow")
    again.set_defaults(func=redrive)
    shown = notifications.add_parser("list", help="the notification records of a job, workflow run or task")
    shown.add_argument("subject", help="a job id (j...), run id (i...) or TaskId")
    shown.set_defaults(func=show_deliveries)

    api_keys = commands.add_parser("keys", help="the API's keys and what each may do").add_subparsers(
        dest="action", required=True)
    for name, description in (("list", "the keys, without their secrets"),
                              ("create", "a new key for some buckets and kinds of operation"),
                              ("rotate", "a new key with the policy of KEY_ID; KEY_ID stays valid until revoked"),
                              ("revoke", "remove KEY_ID")):
        command = api_keys.add_parser(name, help=description)
        command.add_argument("--stack", default="mediaflow")
        command.add_argument("--secret-arn", help="the keys secret (default: the stack's AccessKeysSecretArn)")
        if name in ("rotate", "revoke"):
            command.add_argument("key_id", metavar="KEY_ID")
        if name == "create":
            command.add_argument("--buckets", default="*", help="bucket names or prefixes ending in *, comma separated")
            command.add_argument("--actions", default="read,submit,configure,admin",
                                 help="read, submit, configure, admin (comma separated)")
        command.set_defaults(func=keys)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (RuntimeError, MediaflowError, ValueError) as error:
        print(f"mediaflow: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
