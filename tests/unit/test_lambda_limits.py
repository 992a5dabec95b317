"""Lambda's size limits (mediaflow.local.package_size) and the local deployer refusing what CreateFunction
refuses: a function whose code and layers are too large, or that has more than 5 layers."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from unittest import mock

import pytest
from samtranslator.yaml_helper import yaml_parse

from mediaflow.local import package_size
from mediaflow.local.deploy import check_function_sizes, deploy
from mediaflow.local.package_size import FUNCTION_AND_LAYERS_MAX_BYTES, LambdaLimitError, apparent_size

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def sparse(path: Path, size: int) -> Path:
    """A file of `size` apparent bytes that takes no disk space and no time to make."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        os.truncate(handle.fileno(), size)
    return path


def synthetic(tmp_path: Path, *, layer_bytes: int, layers: int = 1) -> Path:
    """A SAM template with one zip function and `layers` layers, the first holding `layer_bytes`."""
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text("def handler(event, context):\n    return event\n")
    sparse(tmp_path / "layer0" / "python" / "big.bin", layer_bytes)
    for n in range(1, layers):
        (tmp_path / f"layer{n}" / "python").mkdir(parents=True)
    template = tmp_path / "template.yaml"
    template.write_text(textwrap.dedent("""\
        Transform: AWS::Serverless-2016-10-31
        Resources:
        """) + "".join(textwrap.indent(textwrap.dedent(f"""\
        Layer{n}:
          Type: AWS::Serverless::LayerVersion
          Properties: {{ContentUri: layer{n}/, CompatibleRuntimes: [python3.12]}}
        """), "  ") for n in range(layers)) + textwrap.indent(textwrap.dedent(f"""\
        Fn:
          Type: AWS::Serverless::Function
          Properties:
            CodeUri: fn/
            Handler: app.handler
            Runtime: python3.12
            Layers: [{", ".join(f"!Ref Layer{n}" for n in range(layers))}]
        """), "  "))
    return template


def test_sizes_are_apparent_sizes(tmp_path) -> None:
    big = sparse(tmp_path / "a" / "big.bin", 300_000_000)
    (tmp_path / "a" / "small.txt").write_text("12345")
    (tmp_path / "a" / "link").symlink_to(big)  # counted as a link, not followed
    assert os.stat(big).st_blocks * 512 < 1_000_000  # sparse: no disk used
    assert apparent_size(tmp_path / "a") == 300_000_000 + 5 + len(str(big))


def test_the_limits_are_lambdas() -> None:
    assert FUNCTION_AND_LAYERS_MAX_BYTES == 262_144_000 == package_size.LAYER_MAX_BYTES and package_size.MAX_LAYERS == 5
    at_limit = package_size.FunctionSize("Fn", 1_000, {"Layer": FUNCTION_AND_LAYERS_MAX_BYTES - 1_000})
    assert package_size.check(at_limit) is at_limit
    with pytest.raises(LambdaLimitError) as refused:
        package_size.check(package_size.FunctionSize("Fn", 1_001, {"Layer": FUNCTION_AND_LAYERS_MAX_BYTES - 1_000}))
    assert str(refused.value) == ("Fn: Function code combined with layers exceeds the maximum allowed size of "
                                  "262144000 bytes. The actual size is 262144001 bytes.")
    with pytest.raises(LambdaLimitError, match="Cannot reference more than 5 layers"):
        package_size.check(package_size.FunctionSize("Fn", 1, {f"L{n}": 1 for n in range(6)}))


def test_a_template_whose_function_and_layers_are_too_large_is_refused_before_anything_is_deployed(tmp_path) -> None:
    template = synthetic(tmp_path, layer_bytes=FUNCTION_AND_LAYERS_MAX_BYTES)  # + the function's code
    clients = mock.MagicMock()
    with pytest.raises(LambdaLimitError, match=r"^Fn: Function code combined with layers exceeds the maximum "
                                               r"allowed size of 262144000 bytes\. The actual size is 2621440\d\d bytes\.$"):
        deploy(template, stack_name="too-big", clients=clients, cache_dir=tmp_path / "cache")
    # refused as CreateFunction would refuse it: nothing was zipped, uploaded or created
    assert [call for call in clients.mock_calls if call[0]] == []  # clients made, none used
    assert not (tmp_path / "cache").exists()


def test_more_than_five_layers_are_refused(tmp_path) -> None:
    template = synthetic(tmp_path, layer_bytes=10, layers=6)
    with pytest.raises(LambdaLimitError, match="Fn: Cannot reference more than 5 layers"):
        check_function_sizes(yaml_parse(template.read_text()), tmp_path)


def test_a_function_within_the_limit_is_measured(tmp_path) -> None:
    template = synthetic(tmp_path, layer_bytes=200_000_000, layers=2)
    [size] = check_function_sizes(yaml_parse(template.read_text()), tmp_path)
    assert size.name == "Fn" and size.layer_bytes == {"Layer0": 200_000_000, "Layer1": 0}
    assert size.total == 200_000_000 + (tmp_path / "fn" / "app.py").stat().st_size


def test_the_projects_template_passes_the_local_check() -> None:
    sizes = {size.name: size for size in check_function_sizes(yaml_parse((ROOT / "template.yaml").read_text()), ROOT)}
    assert {"PlanFunction", "UnitFunction", "ApiFunction"} <= set(sizes)
    assert set(sizes["UnitFunction"].layer_bytes) == {"CommonLayer", "EnginesLayer", "FfmpegLayer"}


# ------------------------------------------------------------------ what each function's layers hold
ENGINES = ("pocketsphinx", "pypdfium2", "PIL")
BLOCKER = textwrap.dedent("""\
    import importlib, importlib.abc, os, sys
    class Blocked(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {engines!r}:
                raise ImportError("not in this function's layers: " + name)
    sys.meta_path.insert(0, Blocked())
    sys.path[:0] = [{code!r}, {library!r}]
    importlib.import_module({module!r})
    """)


def _functions_without_engines() -> list[tuple[str, str]]:
    template = yaml_parse((ROOT / "template.yaml").read_text())
    found = []
    for logical, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        layers = [layer.get("Ref") for layer in props.get("Layers", [])]
        if "EnginesLayer" not in layers:
            code = props.get("CodeUri") or resource.get("Metadata", {}).get("LocalCodeUri")
            handler = props.get("Handler") or props["ImageConfig"]["Command"][0]
            found.append((logical, f"{code.rstrip('/')}:{handler.split('.')[0]}"))
    return found


@pytest.mark.parametrize("function, code_module", _functions_without_engines())
def test_functions_without_the_engines_layer_load_without_it(function, code_module) -> None:
    code, module = code_module.split(":")
    template = yaml_parse((ROOT / "template.yaml").read_text())
    names = {*template["Globals"]["Function"]["Environment"]["Variables"],
             *template["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {})}
    # the function's settings, as its template gives them (values that parse as the settings expect)
    env = {**os.environ, **{name: "1" for name in names}, "CALLBACK_RETRY_SECONDS": "1,2",
           "ALLOW_LOOPBACK_CALLBACKS": "false", "POWERTOOLS_LOG_LEVEL": "INFO", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
    script = BLOCKER.format(engines=set(ENGINES), code=str(ROOT / code), library=str(ROOT / "layers/common/python"),
                            module=module)
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"{function}: {result.stderr[-2000:]}"
