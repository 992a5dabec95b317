"""What `sam build` produced (.aws-sam/build), measured as Lambda measures it: every zip function's
code plus its layers, unzipped, within 262,144,000 bytes (`make build` first; `make test` does).
The local deployer's check measures the layers' sources; this one the real layers, with their
requirements installed for Lambda's Python."""

import os
from pathlib import Path

import pytest
from samtranslator.yaml_helper import yaml_parse

from mediaflow.local.deploy import check_function_sizes
from mediaflow.local.package_size import FUNCTION_AND_LAYERS_MAX_BYTES, LAYER_MAX_BYTES, apparent_size

pytestmark = pytest.mark.build
ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / ".aws-sam" / "build"


@pytest.fixture(scope="module")
def built() -> dict:
    template = BUILD / "template.yaml"
    if not template.is_file():
        pytest.skip("no sam build output: run `make build` (make test does)")
    if template.stat().st_mtime < (ROOT / "template.yaml").stat().st_mtime:
        pytest.fail("the build is older than template.yaml: run `make build` again")
    return yaml_parse(template.read_text())


def test_every_built_function_with_its_layers_is_within_lambdas_limit(built) -> None:
    sizes = check_function_sizes(built, BUILD)  # LambdaLimitError, with Lambda's message, if one is over
    print()
    for size in sorted(sizes, key=lambda s: -s.total):
        print(size.describe())
    names = {size.name for size in sizes}
    functions = {k for k, r in built["Resources"].items()
                 if r["Type"] == "AWS::Serverless::Function" and r["Properties"].get("PackageType") != "Image"}
    assert names == functions and {"PlanFunction", "UnitFunction"} <= names
    assert all(size.total <= FUNCTION_AND_LAYERS_MAX_BYTES for size in sizes)


def test_each_built_layer_is_within_the_layer_limit_and_holds_what_it_should(built) -> None:
    layers = {k: BUILD / r["Properties"]["ContentUri"] for k, r in built["Resources"].items()
              if r["Type"] == "AWS::Serverless::LayerVersion"}
    assert set(layers) == {"CommonLayer", "EnginesLayer", "FfmpegLayer"}
    for name, folder in layers.items():
        print(f"{name}: {apparent_size(folder):,} B")
        assert apparent_size(folder) <= LAYER_MAX_BYTES, name
    common = {p.name.split("-")[0].lower() for p in (layers["CommonLayer"] / "python").iterdir()}
    assert {"mediaflow", "aws_lambda_powertools", "pydantic", "xmltodict", "requests"} <= common
    # the runtime's SDK is not shadowed; the engines are only where Plan and Unit get them
    assert not common & {"boto3", "botocore", "s3transfer", "jmespath", "pocketsphinx", "pypdfium2", "pil"}, common
    engines = {p.name.split("-")[0].lower() for p in (layers["EnginesLayer"] / "python").iterdir()}
    assert {"pocketsphinx", "pypdfium2", "pil"} <= engines
    ffmpeg = layers["FfmpegLayer"] / "bin" / "ffmpeg"
    assert os.access(ffmpeg, os.X_OK) and (layers["FfmpegLayer"] / "fonts" / "DejaVuSans.ttf").is_file()
    for function in ("PlanFunction", "UnitFunction"):
        refs = [layer["Ref"] for layer in built["Resources"][function]["Properties"]["Layers"]]
        assert refs == ["CommonLayer", "EnginesLayer", "FfmpegLayer"], function
