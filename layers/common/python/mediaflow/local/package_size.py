"""Lambda's size limits for a zip function and its layers, and the check Lambda makes against them.

The facts (AWS Lambda quotas, "Deployment package" and "Layers"):

* A function's code and all its layers, unzipped, may not exceed 262,144,000 bytes (250 MiB).
  CreateFunction and UpdateFunctionConfiguration refuse more with an InvalidParameterValueException
  "Function code combined with layers exceeds the maximum allowed size of 262144000 bytes. The actual
  size is N bytes." Each layer publishes on its own (a layer alone has the same 250 MiB bound), so a
  stack whose layers are each fine still fails when the function that uses them is created.
* A function references at most 5 layers.
* The 50 MB bound on a zipped package holds only for a direct upload through the Lambda API; `sam
  deploy` uploads to S3 and passes the S3 location, where only the unzipped bound applies. It is
  not checked here.
* Container-image functions (up to 10 GB) have none of these bounds.

Sizes are apparent sizes, as `du -sb --apparent-size` counts them: the sum of the files' lengths,
which is what Lambda counts after unzipping, whatever the file system here allocates (a sparse file
counts in full). Unlike du, folders themselves count nothing (a zip holds no directory blocks).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

FUNCTION_AND_LAYERS_MAX_BYTES = 262_144_000  # unzipped, code + every layer
LAYER_MAX_BYTES = 262_144_000  # unzipped, one layer
MAX_LAYERS = 5
DIRECT_UPLOAD_ZIPPED_MAX_BYTES = 50 * 1024 * 1024  # direct API upload only; S3 deploys are not bound by it


class LambdaLimitError(ValueError):
    """What Lambda's CreateFunction answers (InvalidParameterValueException) for a function that
    breaks a size limit; the message is AWS's own."""

    code = "InvalidParameterValueException"


def apparent_size(path: Path) -> int:
    """Bytes under `path`: files' lengths (never their blocks, so a sparse file counts in full),
    symbolic links counted as links, not followed."""
    if path.is_symlink() or path.is_file():
        return os.lstat(path).st_size
    total = 0
    for folder, dirs, files in os.walk(path):
        for name in (*files, *dirs):
            entry = os.path.join(folder, name)
            if name in files or os.path.islink(entry):
                total += os.lstat(entry).st_size
    return total


@dataclass(frozen=True)
class FunctionSize:
    name: str
    code_bytes: int
    layer_bytes: dict[str, int]  # layer name -> bytes

    @property
    def total(self) -> int:
        return self.code_bytes + sum(self.layer_bytes.values())

    def describe(self) -> str:
        parts = ", ".join(f"{name} {size:,}" for name, size in self.layer_bytes.items())
        return (f"{self.name}: {self.total:,} B of {FUNCTION_AND_LAYERS_MAX_BYTES:,} "
                f"(code {self.code_bytes:,}{', ' + parts if parts else ''}; "
                f"headroom {FUNCTION_AND_LAYERS_MAX_BYTES - self.total:,})")


def measure(name: str, code_dir: Path, layer_dirs: Iterable[tuple[str, Path]]) -> FunctionSize:
    """The unzipped sizes of a function's code folder and of each of its layers' folders."""
    return FunctionSize(name, apparent_size(code_dir), {layer: apparent_size(folder) for layer, folder in layer_dirs})


def check(size: FunctionSize) -> FunctionSize:
    """Refuse, as Lambda does, a function with too many layers or whose code and layers are too large."""
    if len(size.layer_bytes) > MAX_LAYERS:
        raise LambdaLimitError(f"{size.name}: Cannot reference more than {MAX_LAYERS} layers.")
    for layer, layer_size in size.layer_bytes.items():
        if layer_size > LAYER_MAX_BYTES:
            raise LambdaLimitError(
                f"{size.name}: layer {layer}: Unzipped size must be smaller than {LAYER_MAX_BYTES} bytes")
    if size.total > FUNCTION_AND_LAYERS_MAX_BYTES:
        raise LambdaLimitError(
            f"{size.name}: Function code combined with layers exceeds the maximum allowed size of "
            f"{FUNCTION_AND_LAYERS_MAX_BYTES} bytes. The actual size is {size.total} bytes.")
    return size


def check_function(name: str, code_dir: Path, layer_dirs: Iterable[tuple[str, Path]]) -> FunctionSize:
    """measure + check: the function's sizes, or LambdaLimitError with AWS's message."""
    return check(measure(name, code_dir, layer_dirs))
