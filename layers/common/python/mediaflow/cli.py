"""The `mediaflow` command: the local stack, the demo, and operations helpers."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from .exceptions import MediaflowError


def _parameters(pairs: list[str]) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in pairs)


def local_up(args: argparse.Namespace) -> int:
    from .local.runtime import LocalRuntime

    runtime = LocalRuntime(port=args.port).start()
    stack = runtime.up(Path(args.template), stack_name=args.stack, parameters=_parameters(args.parameter))
    print(f"mediaflow local stack {stack.name!r} is up; AWS endpoint {runtime.endpoint}")
    for key, value in sorted(stack.outputs.items()):
        print(f"  {key:<26} {value}")
    print("logs of each function: .mediaflow/logs/; Ctrl-C stops", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    runtime.stop()
    return 0


def demo(args: argparse.Namespace) -> int:
    from .local.demo import run_demo

    return run_demo(Path(args.template), Path(args.input) if args.input else None, port=args.port)


def redrive(args: argparse.Namespace) -> int:
    import boto3

    from .notify.deliver import redrive as move

    outputs = {o["OutputKey"]: o["OutputValue"]
               for o in boto3.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"][0].get("Outputs", [])}
    moved = move(outputs["NotifyDeadLetterQueueUrl"], outputs["NotifyQueueUrl"])
    print(f"redrove {moved} notifications")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mediaflow")
    commands = parser.add_subparsers(dest="command", required=True)

    local = commands.add_parser("local", help="the embedded local stack").add_subparsers(dest="action", required=True)
    up = local.add_parser("up", help="deploy template.yaml into the emulator and serve it on 127.0.0.1")
    up.add_argument("--port", type=int, default=4566)
    up.add_argument("--stack", default="mediaflow")
    up.add_argument("--template", default="template.yaml")
    up.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE")
    up.set_defaults(func=local_up)

    run = commands.add_parser("demo", help="upload a video to the local stack and follow it to the callback")
    run.add_argument("--input", help="a video file (default: a generated test pattern)")
    run.add_argument("--port", type=int, default=4566)
    run.add_argument("--template", default="template.yaml")
    run.set_defaults(func=demo)

    notifications = commands.add_parser("notifications", help="notification operations").add_subparsers(dest="action", required=True)
    again = notifications.add_parser("redrive", help="move failed notifications from the DLQ back to the queue")
    again.add_argument("--stack", default="mediaflow")
    again.set_defaults(func=redrive)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (RuntimeError, MediaflowError) as error:
        print(f"mediaflow: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
