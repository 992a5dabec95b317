"""Deploys template.yaml into the emulator, the way `sam package` + CloudFormation would.

1. Local artifact paths (CodeUri, ContentUri, DefinitionUri) are zipped or uploaded into an
   artifacts bucket of the emulator and replaced by their s3:// locations.
2. samtranslator turns the SAM template into plain CloudFormation, offline.
3. What moto's CloudFormation does not do is done here: DefinitionSubstitutions are applied
   (as an Fn::Sub over the definition), and functions' Layers and S3 bucket notifications are
   applied after the stack exists.
"""

from __future__ import annotations

import hashlib
import os
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samtranslator.public.translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ARTIFACTS_BUCKET = "mediaflow-local-artifacts"
LOCAL_PATH_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
}


@dataclass
class Stack:
    name: str
    outputs: dict[str, str]
    resources: dict[str, str]  # logical id -> physical id
    artifacts: dict[str, Path] = field(default_factory=dict)  # artifact key -> local path
    dead_letter_queues: dict[str, str] = field(default_factory=dict)  # function name -> queue URL


def load_template(path: Path) -> dict[str, Any]:
    return yaml_parse(path.read_text())


def _tree_fingerprint(folder: Path) -> str:
    """Cheap content key of a folder: names, sizes and mtimes (a zip is rebuilt only when these change)."""
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        stat = file.stat()
        digest.update(f"{file.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _zip_folder(folder: Path, cache_dir: Path) -> Path:
    target = cache_dir / f"{folder.name}-{_tree_fingerprint(folder)}.zip"
    if not target.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for file in sorted(folder.rglob("*")):
                if file.is_file() and "__pycache__" not in file.parts:
                    archive.write(file, file.relative_to(folder))
        partial.rename(target)
    return target


def package(template: dict[str, Any], base_dir: Path, s3: Any, cache_dir: Path) -> dict[str, Path]:
    """Upload every local artifact and point the template at it. Returns artifact key -> local path."""
    s3.create_bucket(Bucket=ARTIFACTS_BUCKET)
    artifacts: dict[str, Path] = {}
    for resource in template["Resources"].values():
        prop = LOCAL_PATH_PROPERTIES.get(resource["Type"])
        value = resource.get("Properties", {}).get(prop) if prop else None
        if not isinstance(value, str) or value.startswith("s3://"):
            continue
        local = (base_dir / value).resolve()
        if local.is_dir():
            archive = _zip_folder(local, cache_dir)
            key = archive.name
            s3.upload_file(str(archive), ARTIFACTS_BUCKET, key)
        else:
            key = f"{local.stem}-{hashlib.sha256(local.read_bytes()).hexdigest()[:16]}{local.suffix}"
            s3.put_object(Bucket=ARTIFACTS_BUCKET, Key=key, Body=local.read_bytes())
        artifacts[key] = local
        resource["Properties"][prop] = f"s3://{ARTIFACTS_BUCKET}/{key}"
    return artifacts


def inline_definitions(cfn: dict[str, Any], s3: Any) -> None:
    """DefinitionS3Location + DefinitionSubstitutions -> DefinitionString, which moto understands."""
    for resource in cfn["Resources"].values():
        if resource["Type"] != "AWS::StepFunctions::StateMachine":
            continue
        props = resource["Properties"]
        location = props.pop("DefinitionS3Location", None)
        if location is None:
            continue
        text = s3.get_object(Bucket=location["Bucket"], Key=location["Key"])["Body"].read().decode()
        substitutions = props.pop("DefinitionSubstitutions", None)
        props["DefinitionString"] = {"Fn::Sub": [text, substitutions]} if substitutions else text


def _resolve(value: Any, resources: dict[str, str], lambda_client: Any) -> Any:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical, attribute = value["Fn::GetAtt"]
        if attribute == "Arn":
            return lambda_client.get_function(FunctionName=resources[logical])["Configuration"]["FunctionArn"]
    if isinstance(value, dict) and "Ref" in value:
        return resources[value["Ref"]]
    return value


def apply_bucket_notifications(cfn: dict[str, Any], resources: dict[str, str], s3: Any, lambda_client: Any) -> None:
    for logical, resource in cfn["Resources"].items():
        notification = resource["Type"] == "AWS::S3::Bucket" and resource["Properties"].get("NotificationConfiguration")
        if not notification:
            continue
        configuration = {
            "LambdaFunctionConfigurations": [
                {
                    "LambdaFunctionArn": _resolve(item["Function"], resources, lambda_client),
                    "Events": [item["Event"]],
                    **({"Filter": {"Key": item["Filter"]["S3Key"]}} if "Filter" in item else {}),
                }
                for item in notification.get("LambdaConfigurations", [])
            ]
        }
        s3.put_bucket_notification_configuration(Bucket=resources[logical], NotificationConfiguration=configuration)


def apply_function_layers(cfn: dict[str, Any], resources: dict[str, str], stack_name: str, lambda_client: Any) -> None:
    """moto's CloudFormation creates functions without their Layers; attach them as CloudFormation would."""
    for logical, resource in cfn["Resources"].items():
        layers = resource["Type"] == "AWS::Lambda::Function" and resource["Properties"].get("Layers")
        if layers:
            lambda_client.update_function_configuration(
                FunctionName=resources[logical], Layers=[_layer_arn(layer["Ref"], stack_name, lambda_client) for layer in layers]
            )


def _layer_arn(logical: str, stack_name: str, lambda_client: Any) -> str:
    """The version ARN of a template's layer; moto names the layer after the stack and logical id."""
    for layer in lambda_client.list_layers()["Layers"]:
        if layer["LayerName"].startswith(f"{stack_name}-{logical}"):
            return layer["LatestMatchingVersion"]["LayerVersionArn"]
    raise RuntimeError(f"layer {logical} of stack {stack_name} was not created")


def dead_letter_queues(cfn: dict[str, Any], resources: dict[str, str], sqs: Any) -> dict[str, str]:
    """Functions' DeadLetterConfig (moto keeps none): function name -> URL of its SQS dead-letter queue."""
    found = {}
    for logical, resource in cfn["Resources"].items():
        target = resource["Type"] == "AWS::Lambda::Function" and resource["Properties"].get("DeadLetterConfig", {}).get("TargetArn")
        if isinstance(target, dict) and "Fn::GetAtt" in target:
            queue = resources[target["Fn::GetAtt"][0]]
            found[resources[logical]] = queue if queue.startswith("http") else sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    return found


def deploy(
    template_path: Path,
    *,
    stack_name: str,
    clients: Any,
    parameters: dict[str, str] | None = None,
    cache_dir: Path,
    region: str = "us-east-1",
) -> Stack:
    """Package, transform and create the stack; `clients(service)` gives emulator clients."""
    s3, cfn_client, lambda_client = clients("s3"), clients("cloudformation"), clients("lambda")
    template = load_template(template_path)
    artifacts = package(template, template_path.parent, s3, cache_dir)
    parameters = parameters or {}
    # samtranslator reads the region (for pseudo parameters) from the environment.
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    cfn = transform(template, parameters, ManagedPolicyLoader(clients("iam")))
    inline_definitions(cfn, s3)
    cfn_client.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(cfn),
        Parameters=[{"ParameterKey": k, "ParameterValue": str(v)} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    description = cfn_client.describe_stacks(StackName=stack_name)["Stacks"][0]
    if description["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(f"stack {stack_name} is {description['StackStatus']}: {description.get('StackStatusReason')}")
    resources = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn_client.list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
    }
    apply_function_layers(cfn, resources, stack_name, lambda_client)
    apply_bucket_notifications(cfn, resources, s3, lambda_client)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}
    return Stack(name=stack_name, outputs=outputs, resources=resources, artifacts=artifacts,
                 dead_letter_queues=dead_letter_queues(cfn, resources, clients("sqs")))
