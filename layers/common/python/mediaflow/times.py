"""Times in the shapes Tencent's APIs use."""

from datetime import datetime, timezone

CI_FORMAT = "%Y-%m-%dT%H:%M:%S%z"  # 2022-06-27T15:23:12+0800: no colon in the offset
UNSET = "-"


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def ci_time(value: datetime | None) -> str:
    """A time as CI renders it; an unset time is "-"."""
    return value.strftime(CI_FORMAT) if value else UNSET


def parse_ci_time(text: str) -> datetime:
    return datetime.strptime(text, CI_FORMAT)
