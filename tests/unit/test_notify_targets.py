"""Which queues and topics a message-queue rule may name: never one of the stack's own queues, under
any spelling (name, URL, ARN), when the rule is set (the API) or delivered (the Notifier)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mediaflow.exceptions import InvalidInputError
from mediaflow.models import NotifyConfig
from mediaflow.notify.targets import check_target, target_name
from samtranslator.yaml_helper import yaml_parse

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
OWN = "mediaflow-queue-1.fifo"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return yaml_parse((ROOT / "template.yaml").read_text())


def _queues(template: dict[str, Any]) -> set[str]:
    return {logical for logical, resource in template["Resources"].items() if resource["Type"] == "AWS::SQS::Queue"}


def _stack_queues(template: dict[str, Any], function: str) -> set[str]:
    """The logical ids a function's STACK_QUEUES is joined from (each `!GetAtt X.QueueName`)."""
    variables = template["Resources"][function]["Properties"]["Environment"]["Variables"]
    assert "STACK_QUEUES" in variables, f"{function} has no STACK_QUEUES"
    delimiter, parts = variables["STACK_QUEUES"]["Fn::Join"]
    assert delimiter == ","
    assert all(part["Fn::GetAtt"][1] == "QueueName" for part in parts)
    return {part["Fn::GetAtt"][0] for part in parts}


@pytest.mark.parametrize("function", ["NotifyFunction", "ApiFunction"])
def test_every_queue_of_the_stack_is_refused_by_the_function_that_checks_rules(template, function) -> None:
    """The API checks a rule when it is set, the Notifier before each delivery: both know every queue."""
    assert _stack_queues(template, function) == _queues(template)


def test_the_notifiers_role_denies_the_stacks_queues(template) -> None:
    statements = [statement for policy in template["Resources"]["NotifyFunction"]["Properties"]["Policies"]
                  if isinstance(policy, dict) for statement in policy.get("Statement", [])]
    denied: dict[str, set[str]] = {}
    for statement in statements:
        if statement["Effect"] != "Deny":
            continue
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            denied.setdefault(action, set()).update(r["Fn::GetAtt"][0] for r in resources)
    # The Notifier sends to its own two queues by URL (the next attempt, dead letters): only their lookup by name
    # can be denied; every other queue of the stack is denied outright.
    own = {"NotifyQueue", "NotifyDeadLetterQueue"}
    assert denied["sqs:SendMessage"] == _queues(template) - own
    assert denied["sqs:GetQueueUrl"] == _queues(template)


@pytest.mark.parametrize("spelling", [
    OWN,
    f"https://sqs.us-east-1.amazonaws.com/123456789012/{OWN}",
    f"http://127.0.0.1:9/123456789012/{OWN}",
    f"https://sqs.us-east-1.amazonaws.com/123456789012/{OWN}/",
    "https://sqs.us-east-1.amazonaws.com/123456789012/mediaflow-queue-1%2Efifo",
    f"arn:aws:sqs:us-west-2:123456789012:{OWN}",
])
def test_a_stack_queue_is_refused_however_it_is_spelled(monkeypatch, spelling) -> None:
    monkeypatch.setenv("STACK_QUEUES", f"mediaflow-NotifyQueue-ABC,{OWN}")
    monkeypatch.setenv("NOTIFY_TARGET_NAMES", "*")
    with pytest.raises(InvalidInputError, match="this stack's own queues"):
        check_target(NotifyConfig(Type="TDMQ", MqMode="Queue", MqName=spelling))


@pytest.mark.parametrize("url", [
    "https://sqs.us-east-1.amazonaws.com/123456789012/owner-events?QueueUrl=x",
    "https://sqs.us-east-1.amazonaws.com/123456789012/owner-events#x",
    "https://user@sqs.us-east-1.amazonaws.com/123456789012/owner-events",
    f"https://sqs.us-east-1.amazonaws.com/123456789012/{OWN}/x/..",
    f"https://sqs.us-east-1.amazonaws.com/123456789012/{OWN}/.",
    "https://sqs.us-east-1.amazonaws.com/owner-events",
])
def test_a_queue_url_with_more_than_a_path_is_refused(monkeypatch, url) -> None:
    monkeypatch.setenv("STACK_QUEUES", OWN)
    monkeypatch.setenv("NOTIFY_TARGET_NAMES", "*")
    with pytest.raises(InvalidInputError, match="MqName"):
        check_target(NotifyConfig(Type="TDMQ", MqMode="Queue", MqName=url))


def test_names_urls_and_arns_name_their_queue() -> None:
    assert target_name("owner-events") == "owner-events"
    assert target_name("https://sqs.us-east-1.amazonaws.com/123456789012/owner-events") == "owner-events"
    assert target_name("arn:aws:sns:us-east-1:123456789012:owner-topic") == "owner-topic"


def test_the_owners_queue_passes(monkeypatch) -> None:
    monkeypatch.setenv("STACK_QUEUES", OWN)
    monkeypatch.setenv("NOTIFY_TARGET_NAMES", "owner-*")
    check_target(NotifyConfig(Type="TDMQ", MqMode="Queue", MqName="https://sqs.us-east-1.amazonaws.com/1/owner-events"))
