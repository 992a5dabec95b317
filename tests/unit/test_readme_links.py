"""The README and the pages under docs/: relative links that resolve, `make` targets that exist, a short README."""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
README_LIMIT = 12_500  # bytes

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"(`+)(.+?)\1", re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
MAKE = re.compile(r"(?<![\w.$/-])make(?:\s+\w+=\S*)*\s+([A-Za-z0-9][\w.-]*)\b(?!=)")  # VAR=value skipped
RULE = re.compile(r"^([^\s:=#][^:=#]*?)\s*(?:&:|::?)(?!=)", re.MULTILINE)  # rules, grouped ones (&:) too


def _prose(text: str) -> str:
    """The text outside fenced code blocks and inline code spans (links there are not links)."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def _code(text: str) -> list[str]:
    """Fenced code blocks and inline code spans: where a `make` command is written."""
    return [m.group(0) for m in FENCE.finditer(text)] + [m.group(2) for m in INLINE_CODE.finditer(FENCE.sub("", text))]


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens, repeats numbered."""
    anchors: set[str] = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", FENCE.sub("", page.read_text()), re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower()).replace(" ", "-")
        candidate, n = slug, 0
        while candidate in anchors:
            n += 1
            candidate = f"{slug}-{n}"
        anchors.add(candidate)
    return anchors


def _relative_links(page: Path) -> list[str]:
    return [target for target in LINK.findall(_prose(page.read_text()))
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) and not target.startswith("//")]


def _make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text()
    targets: set[str] = set()
    for names in RULE.findall(makefile):  # not variables, patterns or special targets (.PHONY)
        targets.update(name for name in names.split() if not re.search(r"[$%]|^\.", name))
    return targets


def test_the_pages_exist() -> None:
    assert README.is_file()
    assert len(PAGES) > 1, "no pages under docs/"


def test_readme_is_a_short_front_door() -> None:
    size = len(README.read_bytes())
    assert size < README_LIMIT, f"README.md is {size} bytes; move detail into a page under docs/ (limit {README_LIMIT})"


def test_readme_links_every_docs_page() -> None:
    linked = {(README.parent / target.split("#")[0]).resolve() for target in _relative_links(README)}
    unlinked = [page.name for page in PAGES[1:] if page.resolve() not in linked]
    assert not unlinked, f"docs pages the README does not link: {unlinked}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in _relative_links(page):
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target} (no such heading in {resolved.name})")
    assert not broken, f"{page.relative_to(ROOT)}: broken links {broken}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_make_targets_are_defined(page: Path) -> None:
    defined = _make_targets()
    mentioned = {target for code in _code(page.read_text()) for target in MAKE.findall(code)}
    assert not mentioned - defined, (
        f"{page.relative_to(ROOT)} mentions make targets the Makefile lacks: {sorted(mentioned - defined)}")


LIBRARY_PATH = re.compile(r"(?<![\w.])mediaflow/([\w/*]+\.py|[\w/]+/)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_library_paths_exist(page: Path) -> None:
    """`mediaflow/...` in the pages names modules and packages that exist (they move with the layout)."""
    library = ROOT / "layers/common/python/mediaflow"
    missing = sorted({path for code in _code(page.read_text()) for path in LIBRARY_PATH.findall(code)
                      if not list(library.glob(path.rstrip("/")))})
    assert missing == [], f"{page.name} names library paths that do not exist: {missing}"


def test_the_checks_see_what_they_check(tmp_path: Path) -> None:
    """Guards for the checks themselves: a pattern that matched nothing would pass every page."""
    assert {"run", "test", "install"} <= _make_targets()
    assert {"run", "test"} <= {target for code in _code(README.read_text()) for target in MAKE.findall(code)}
    assert MAKE.findall("make run INPUT=a.wav; PYTHON=python3.12 make test; make N=3 bench-dispatch") == [
        "run", "test", "bench-dispatch"]
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n## The state machine (`statemachine/job.asl.json`)\n\n## Notes\n\n## Notes\n\n"
                    "[a](other.md#x) `[b](c.md)` [d](https://example.com) [e](#notes-1)\n\n```\n[f](g.md)\n```\n")
    assert _anchors(page) == {"title", "the-state-machine-statemachinejobasljson", "notes", "notes-1"}
    assert _relative_links(page) == ["other.md#x", "#notes-1"]
