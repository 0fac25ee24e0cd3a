"""The documents stay true to the tree: links resolve, cited bench files exist, every bench file
is listed, and the README stays a short page for users (its figures live in docs/benchmarks.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

DOCS = [ROOT / "README.md", ROOT / "ARCHITECTURE.md", *sorted((ROOT / "docs").glob("*.md"))]
BENCH = ROOT / "bench"
README_MAX_LINES = 220


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_anchor(m) for m in re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), re.M)}


def _expand(name: str) -> list[str]:
    """`long-{1,2}.json` -> both names; `shipped{,-2}.json` -> `shipped.json`, `shipped-2.json`."""
    match = re.search(r"\{([^}]*)\}", name)
    if not match:
        return [name]
    head, tail = name[: match.start()], name[match.end() :]
    return [n for part in match.group(1).split(",") for n in _expand(head + part + tail)]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_and_their_anchors_resolve(doc):
    for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue  # an absolute URL
        path_part, _, anchor = target.partition("#")
        path = (doc.parent / path_part).resolve() if path_part else doc
        assert path.exists(), (doc.name, target)
        if anchor and path.suffix == ".md":
            assert anchor in _anchors(path), (doc.name, target, sorted(_anchors(path)))


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_cited_bench_file_exists(doc):
    for cited in re.findall(r"bench/([\w.{},-]+\.json)", doc.read_text(encoding="utf-8")):
        for name in _expand(cited):
            assert (BENCH / name).is_file(), (doc.name, name)


def test_every_bench_file_is_listed_in_its_readme():
    listed = (BENCH / "README.md").read_text(encoding="utf-8")
    for path in sorted(BENCH.rglob("*.json")):
        assert f"`{path.name}`" in listed, path.relative_to(ROOT)


def test_readme_is_short_and_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= README_MAX_LINES
    first_block = text.split("```")[1]
    assert re.search(r"^make demo\b", first_block, re.M) and re.search(r"^make test\b", first_block, re.M)
    # figures belong in docs/benchmarks.md, with their date and command; none dated here
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", text)
    assert not re.search(r"\bissue #?\d+", text, re.I)
