"""Deploys template.yaml into the emulator, the way `sam package` + CloudFormation would.

1. Local artifact paths (CodeUri, ContentUri, DefinitionUri) are zipped or uploaded into an
   artifacts bucket of the emulator and replaced by their s3:// locations.
2. samtranslator turns the SAM template into plain CloudFormation, offline.
3. What moto's CloudFormation does not do is done here: DefinitionSubstitutions are applied
   (as an Fn::Sub over the definition), and functions' Layers and S3 bucket notifications are
   applied after the stack exists. Resources it cannot create at all (the AccessKeys secret, the
   HTTP API) are created through the emulator's own APIs first, and the template refers to them by
   their ids instead (see `create_unsupported`).
4. External buckets (the `ExternalBucketNames` parameter) are created in the emulator when missing
   and get `EventBridgeConfiguration: {}`: moto, like S3, sends "Object Created" events to
   EventBridge only for buckets configured so. On AWS the bucket owner turns that on.
5. Before anything is packaged, every zip function's code folder and its layers' folders are measured
   against Lambda's size limits (`package_size`), which Lambda checks at CreateFunction and moto never does:
   a template whose function and layers are too large is refused here as it would be on AWS. Locally a
   layer's folder is its source (the common layer's requirements live in the virtualenv), so this is
   not AWS's number for the real layers: the `build` tests measure what `sam build` produces.
6. There is no container engine here: a container-image function runs as a zip function whose code is
   its `Metadata.LocalCodeUri` (or its Dockerfile's folder) and whose handler is the image's command,
   with the common layer; what the image installs (LibreOffice) comes from this machine's packages.
   The converter is such a function, created only with a ConverterImageUri: the local runtime passes
   LOCAL_CONVERTER_IMAGE for it, so the local stack converts documents as a stack with the image does.

Longer than 400 lines: one function per step above, kept in one module because they run in that
order on one template.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import string
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samtranslator.public.translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from .package_size import FunctionSize, apparent_size, check

ARTIFACTS_BUCKET = "mediaflow-local-artifacts"
EMPTY_ZIP = b"PK\x05\x06" + bytes(18)  # a zip archive with no members
LOCAL_PATH_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
}


# Created by the deployer, not by moto's CloudFormation (which skips them with a warning).
# Left out locally: an HTTP API's stage and routes (the local front invokes the function itself),
# and queue policies (moto does not enforce resource policies).
DROPPED_TYPES = {"AWS::ApiGatewayV2::Stage", "AWS::SQS::QueuePolicy"}


@dataclass
class Stack:
    name: str
    outputs: dict[str, str]
    resources: dict[str, str]  # logical id -> physical id
    artifacts: dict[str, Path] = field(default_factory=dict)  # artifact key -> local path
    dead_letter_queues: dict[str, str] = field(default_factory=dict)  # function name -> queue URL
    stack_id: str = ""


def load_template(path: Path) -> dict[str, Any]:
    return yaml_parse(path.read_text())


def images_as_zip(template: dict[str, Any]) -> None:
    """Container-image functions become zip functions of the same code, on the other functions' runtime
    (step 6 above)."""
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    images = [r for r in functions if r.get("Properties", {}).get("PackageType") == "Image"]
    if not images:
        return
    runtime = next(f["Properties"]["Runtime"] for f in functions if "Runtime" in f.get("Properties", {}))
    for resource in images:
        props, metadata = resource["Properties"], resource.get("Metadata", {})
        if "LocalCodeUri" in metadata:  # an image built outside SAM (ImageUri): its code folder
            code = str(metadata["LocalCodeUri"])
        else:  # an image SAM builds: its Dockerfile's folder
            code = str((Path(metadata["DockerContext"]) / metadata["Dockerfile"]).parent)
        command = props.pop("ImageConfig")["Command"]
        props.pop("PackageType")
        props.pop("ImageUri", None)
        props.update(CodeUri=code, Handler=command[0], Runtime=runtime, Layers=[{"Ref": "CommonLayer"}])


def _local_path(value: Any, base_dir: Path) -> Path | None:
    return (base_dir / value).resolve() if isinstance(value, str) and not value.startswith("s3://") else None


def check_function_sizes(template: dict[str, Any], base_dir: Path) -> list[FunctionSize]:
    """Every zip function of the SAM template measured against Lambda's limits (code folder plus the
    folders of its layers: the template's own LayerVersions, the global Layers first, as SAM puts
    them); LambdaLimitError with Lambda's message for the first that breaks one. A layer given as an
    ARN cannot be measured here: it counts towards the number of layers only."""
    resources = template.get("Resources", {})
    global_layers = template.get("Globals", {}).get("Function", {}).get("Layers", [])
    sizes = []
    for logical, resource in resources.items():
        props = resource.get("Properties", {})
        code = _local_path(props.get("CodeUri"), base_dir)
        if resource.get("Type") != "AWS::Serverless::Function" or props.get("PackageType") == "Image" or code is None:
            continue
        layers = {}
        for index, layer in enumerate([*global_layers, *props.get("Layers", [])], start=1):
            target = resources.get(layer.get("Ref")) if isinstance(layer, dict) else None
            folder = _local_path((target or {}).get("Properties", {}).get("ContentUri"), base_dir)
            layers[layer["Ref"] if folder else f"layer {index} (an ARN, not measured)"] = apparent_size(folder) if folder else 0
        sizes.append(check(FunctionSize(logical, apparent_size(code), layers)))
    return sizes


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


def package(template: dict[str, Any], base_dir: Path, s3: Any, cache_dir: Path, *, code: bool = True) -> dict[str, Path]:
    """Upload every local artifact and point the template at it. Returns artifact key -> local path.
    With code=False, folders (function code, layers) are uploaded as empty zips: for a stack whose
    handlers are called in-process, never from the emulator, the 80 MB ffmpeg layer is only a cost."""
    s3.create_bucket(Bucket=ARTIFACTS_BUCKET)
    artifacts: dict[str, Path] = {}
    for resource in template["Resources"].values():
        prop = LOCAL_PATH_PROPERTIES.get(resource["Type"])
        value = resource.get("Properties", {}).get(prop) if prop else None
        if not isinstance(value, str) or value.startswith("s3://"):
            continue
        local = (base_dir / value).resolve()
        if local.is_dir() and not code:
            key = f"{local.name}-stand-in.zip"
            s3.put_object(Bucket=ARTIFACTS_BUCKET, Key=key, Body=EMPTY_ZIP)
        elif local.is_dir():
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
        props["DefinitionString"] = _substituted(text, substitutions) if substitutions else text


def _substituted(text: str, substitutions: dict[str, Any]) -> dict[str, Any]:
    """The definition with each ${Name} of `substitutions` replaced, as CloudFormation does it, as an
    Fn::Join moto resolves. Not Fn::Sub: moto's runs string.Template over the text, which turns a
    context path's "$$" ("$$.Map.Item.Value") into "$"."""
    pieces = re.split(r"\$\{([A-Za-z0-9_]+)\}", text)  # text, name, text, name, ..., text
    joined: list[Any] = []
    for number, piece in enumerate(pieces):
        if number % 2:
            joined.append(substitutions.get(piece, "${" + piece + "}"))
        elif piece:
            joined.append(piece)
    return {"Fn::Join": ["", joined]}


def _resolve(value: Any, resources: dict[str, str], lambda_client: Any) -> Any:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical, attribute = value["Fn::GetAtt"]
        if attribute == "Arn":
            return lambda_client.get_function(FunctionName=resources[logical])["Configuration"]["FunctionArn"]
    if isinstance(value, dict) and "Ref" in value:
        return resources[value["Ref"]]
    return value


def evaluate(value: Any, refs: dict[str, Any]) -> Any:
    """The intrinsic functions a generated secret's template may use (Ref, Sub, Join, Split, Select)."""
    if isinstance(value, list):
        return [evaluate(v, refs) for v in value]
    if not isinstance(value, dict):
        return value
    name, arg = next(iter(value.items()), (None, None))
    if len(value) != 1 or not (name == "Ref" or str(name).startswith("Fn::")):
        return {k: evaluate(v, refs) for k, v in value.items()}
    if name == "Ref":
        return refs[arg]
    if name == "Fn::Sub":
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], evaluate(arg[1], refs))
        for key, val in {**refs, **variables}.items():
            text = text.replace("${" + key + "}", str(val))
        return text
    if name == "Fn::Join":
        return arg[0].join(evaluate(arg[1], refs))
    if name == "Fn::Split":
        return evaluate(arg[1], refs).split(arg[0])
    if name == "Fn::Select":
        return evaluate(arg[1], refs)[int(arg[0])]
    raise ValueError(f"{name} is not evaluated by the local deployer")


def generate_secret_string(spec: dict[str, Any], refs: dict[str, Any]) -> str:
    """What Secrets Manager makes of a GenerateSecretString (the options this template uses)."""
    alphabet = string.ascii_letters + string.digits
    if not spec.get("ExcludePunctuation"):
        alphabet += "!#$%&()*+,-.:;<=>?@[]^_{|}~"
    value = "".join(secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))
    if "GenerateStringKey" not in spec:
        return value
    document = json.loads(evaluate(spec.get("SecretStringTemplate", "{}"), refs))
    return json.dumps({**document, spec["GenerateStringKey"]: value})


def _replace_refs(value: Any, found: dict[str, str], attributes: dict[str, dict[str, str]]) -> Any:
    """`value` with every Ref/GetAtt/${...} of a resource in `found` replaced by its id or attribute."""
    if isinstance(value, list):
        return [_replace_refs(v, found, attributes) for v in value]
    if isinstance(value, str):
        for logical, physical in found.items():
            value = value.replace("${" + logical + "}", physical)
            for attribute, attribute_value in attributes.get(logical, {}).items():
                value = value.replace("${" + logical + "." + attribute + "}", attribute_value)
        return value
    if not isinstance(value, dict):
        return value
    if value.get("Ref") in found:
        return found[value["Ref"]]
    get_att = value.get("Fn::GetAtt")
    if isinstance(get_att, list) and get_att[0] in found:
        return attributes[get_att[0]][get_att[1]]
    return {k: _replace_refs(v, found, attributes) for k, v in value.items()}


def create_unsupported(cfn: dict[str, Any], stack_name: str, clients: Any, region: str) -> tuple[dict[str, str], dict[str, Any]]:
    """Create the resources moto's CloudFormation lacks through the emulator's APIs, then take them
    out of `cfn` and put their ids where it refers to them. Returns logical id -> physical id, and
    the secrets' GenerateSecretString specs (filled once the stack id is known)."""
    found: dict[str, str] = {}
    attributes: dict[str, dict[str, str]] = {}
    generated: dict[str, Any] = {}
    for logical, resource in list(cfn["Resources"].items()):
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::SecretsManager::Secret":
            arn = clients("secretsmanager").create_secret(
                Name=props.get("Name", f"{stack_name}-{logical}"), Description=props.get("Description", ""),
                SecretString=props.get("SecretString", "{}"))["ARN"]
            found[logical] = arn
            if "GenerateSecretString" in props:
                generated[arn] = props["GenerateSecretString"]
        elif kind == "AWS::ApiGatewayV2::Api":
            api = clients("apigatewayv2").create_api(Name=props.get("Name", f"{stack_name}-{logical}"),
                                                     ProtocolType=props.get("ProtocolType", "HTTP"))
            found[logical] = api["ApiId"]
            attributes[logical] = {"ApiEndpoint": f"https://{api['ApiId']}.execute-api.{region}.amazonaws.com"}
        elif kind not in DROPPED_TYPES:
            continue
        del cfn["Resources"][logical]
        for other in cfn["Resources"].values():
            depends = other.get("DependsOn")
            if isinstance(depends, list) and logical in depends:
                depends.remove(logical)
            elif depends == logical:
                del other["DependsOn"]
    for section in ("Resources", "Outputs"):
        cfn[section] = _replace_refs(cfn.get(section, {}), found, attributes)
    return found, generated


def prepare_external_buckets(names: str, s3: Any) -> None:
    """Create the external buckets that do not exist in the emulator and make them send events to
    EventBridge (`EventBridgeConfiguration: {}`, kept beside any other notification)."""
    for name in filter(None, (n.strip() for n in names.split(","))):
        try:
            s3.head_bucket(Bucket=name)
        except s3.exceptions.ClientError:
            s3.create_bucket(Bucket=name)
        enable_eventbridge(s3, name)


def enable_eventbridge(s3: Any, bucket: str) -> None:
    """Turn on EventBridge notifications of `bucket`: moto (like S3) sends "Object Created" events
    to EventBridge only for buckets whose notification configuration has EventBridgeConfiguration."""
    current = s3.get_bucket_notification_configuration(Bucket=bucket)
    current.pop("ResponseMetadata", None)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={**current, "EventBridgeConfiguration": {}})


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
        if layers and logical in resources:  # not a function its Condition left out
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
    code: bool = True,
) -> Stack:
    """Package, transform and create the stack; `clients(service)` gives emulator clients. code=False:
    see `package`."""
    s3, cfn_client, lambda_client = clients("s3"), clients("cloudformation"), clients("lambda")
    template = load_template(template_path)
    images_as_zip(template)
    check_function_sizes(template, template_path.parent)  # as CreateFunction would, before any upload
    artifacts = package(template, template_path.parent, s3, cache_dir, code=code)
    parameters = parameters or {}
    # samtranslator reads the region (for pseudo parameters) from the environment.
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    cfn = transform(template, parameters, ManagedPolicyLoader(clients("iam")))
    inline_definitions(cfn, s3)
    emulated, generated_secrets = create_unsupported(cfn, stack_name, clients, region)
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
    } | emulated
    stack_id = description["StackId"]
    for arn, spec in generated_secrets.items():
        clients("secretsmanager").put_secret_value(
            SecretId=arn, SecretString=generate_secret_string(spec, {"AWS::StackId": stack_id, "AWS::StackName": stack_name}))
    apply_function_layers(cfn, resources, stack_name, lambda_client)
    apply_bucket_notifications(cfn, resources, s3, lambda_client)
    prepare_external_buckets(parameters.get("ExternalBucketNames", ""), s3)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}
    return Stack(name=stack_name, outputs=outputs, resources=resources, artifacts=artifacts,
                 dead_letter_queues=dead_letter_queues(cfn, resources, clients("sqs")), stack_id=stack_id)
