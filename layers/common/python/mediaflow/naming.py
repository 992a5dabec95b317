"""Output object names from the ${...} variables of workflows and jobs (names match case-insensitively)."""

from __future__ import annotations

import posixpath
import re

_VARIABLE = re.compile(r"\$\{(\w+)\}")
NUMBER = "${Number}"


def expand(template: str, *, input_key: str, run_id: str = "", job_id: str = "", ext: str = "", keep_number: bool = False) -> str:
    """Fill the variables; ${Number} stays (normalised) when the unit fills it per output file."""
    path, name = posixpath.split(input_key)
    stem = posixpath.splitext(name)[0]
    values = {
        "inputpath": path,
        "inputname": stem,
        "inputnameandext": name,
        "runid": run_id,
        "jobid": job_id,
        "ext": ext,
    }

    def fill(match: re.Match[str]) -> str:
        variable = match.group(1).lower()
        if variable == "number" and keep_number:
            return NUMBER
        return values.get(variable, match.group(0))

    return _VARIABLE.sub(fill, template).lstrip("/")


def number(key_template: str, index: int) -> str:
    return key_template.replace(NUMBER, str(index))
