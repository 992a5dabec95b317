"""API keys' policies: which buckets and kinds of operation a key opens, and how every route is classified."""

from __future__ import annotations

import json

import pytest

from mediaflow.exceptions import AccessDeniedError
from mediaflow.faces.keys import ACTIONS, ApiKey, action_of, new_key, parse_keys, require, with_key, without_key


def test_a_pair_without_a_policy_may_do_everything() -> None:
    [key] = parse_keys(json.dumps({"SecretId": "AKIDowner", "SecretKey": "s3cret"})).values()
    assert all(key.may(action, "any-bucket") for action in ACTIONS)


def test_a_policy_opens_its_buckets_and_kinds_only() -> None:
    key = ApiKey(SecretId="AKIDteam", SecretKey="s", Buckets=["media-*", "reports"], Actions=["read", "submit"])
    assert key.may("read", "media-eu") and key.may("submit", "reports")
    assert not key.may("configure", "media-eu") and not key.may("read", "reports-old") and not key.may("read", "other")
    with pytest.raises(AccessDeniedError, match="lacks the permission configure$"):
        require(key, "configure", "media-eu")
    with pytest.raises(AccessDeniedError, match="lacks the permission read on bucket other"):
        require(key, "read", "other")


def test_malformed_entries_open_nothing() -> None:
    secret = json.dumps([{"SecretId": "AKIDgood", "SecretKey": "s", "Actions": ["read"]},
                         {"SecretId": "AKIDbad", "SecretKey": "s", "Actions": ["everything"]},
                         {"SecretId": "AKIDbad2", "SecretKey": "s", "Buckets": ["Upper/Case"]}, "junk"])
    assert list(parse_keys(secret)) == ["AKIDgood"] and parse_keys("not json") == {}


@pytest.mark.parametrize(("method", "path", "tc_action", "action"), [
    ("GET", "/jobs", None, "read"), ("GET", "/workflowexecution/i123", None, "read"),
    ("POST", "/jobs", None, "submit"), ("PUT", "/jobs/j1,j2", None, "submit"), ("POST", "/triggerworkflow", None, "submit"),
    ("POST", "/workflow", None, "configure"), ("DELETE", "/template/t1", None, "configure"),
    ("PUT", "/queue/p1", None, "admin"), ("POST", "/mediabucket", None, "admin"),
    ("POST", "/", "ProcessMedia", "submit"), ("POST", "/", "PullEvents", "read"), ("POST", "/", "DescribeTasks", "read"),
    ("POST", "/", "SomethingNew", "admin"), ("PATCH", "/jobs", None, "admin"), ("POST", "/unknown", None, "admin"),
])
def test_every_route_needs_one_kind_and_unknown_ones_need_admin(method: str, path: str, tc_action: str | None,
                                                                action: str) -> None:
    assert action_of(method, path, tc_action) == action


def test_keys_are_created_rotated_and_revoked_in_the_secret() -> None:
    owner = ApiKey(SecretId="AKIDowner", SecretKey="s")
    keys = {owner.SecretId: owner}
    team = new_key(["media-*"], ["read"])
    keys = parse_keys(with_key(keys, team))
    assert set(keys) == {"AKIDowner", team.SecretId} and keys[team.SecretId].Buckets == ["media-*"]
    assert "SecretKey" not in keys[team.SecretId].public()
    keys = parse_keys(without_key(keys, team.SecretId))
    assert list(keys) == ["AKIDowner"]
    with pytest.raises(ValueError, match="last key"):
        without_key(keys, "AKIDowner")
    with pytest.raises(KeyError):
        without_key(keys, "AKIDnobody")


@pytest.fixture
def keys_secret(monkeypatch: pytest.MonkeyPatch):
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        import boto3

        client = boto3.client("secretsmanager")
        arn = client.create_secret(Name="keys", SecretString=json.dumps(
            {"SecretId": "AKIDowner", "SecretKey": "owner-secret"}))["ARN"]
        yield client, arn


def test_the_keys_command_creates_rotates_lists_and_revokes(keys_secret, capsys: pytest.CaptureFixture[str]) -> None:
    from mediaflow import cli

    client, arn = keys_secret
    assert cli.main(["keys", "create", "--secret-arn", arn, "--buckets", "media-*", "--actions", "read,submit"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["Buckets"] == ["media-*"] and created["Actions"] == ["read", "submit"] and created["SecretKey"]
    assert cli.main(["keys", "rotate", "--secret-arn", arn, created["SecretId"]]) == 0
    rotated = json.loads(capsys.readouterr().out)
    stored = parse_keys(client.get_secret_value(SecretId=arn)["SecretString"])
    assert set(stored) == {"AKIDowner", created["SecretId"], rotated["SecretId"]}  # the old one stays until revoked
    assert stored[rotated["SecretId"]].Buckets == ["media-*"] and stored[rotated["SecretId"]].Actions == ["read", "submit"]
    assert cli.main(["keys", "revoke", "--secret-arn", arn, created["SecretId"]]) == 0
    assert capsys.readouterr().out == f"revoked {created['SecretId']}\n"
    cli.main(["keys", "list", "--secret-arn", arn])
    listed = capsys.readouterr().out
    assert created["SecretId"] not in listed and rotated["SecretId"] in listed and "secret" not in listed.lower()
    assert cli.main(["keys", "create", "--secret-arn", arn, "--actions", "everything"]) == 1
    assert cli.main(["keys", "revoke", "--secret-arn", arn, "AKIDnobody"]) == 1
