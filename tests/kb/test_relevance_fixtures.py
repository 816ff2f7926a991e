"""The relevance benchmark's material stays coherent with the third-party guides and logs it describes.

tests/fixtures/relevance/ holds public troubleshooting guides stored verbatim, a truth file per guide
(its problem sections, the error strings a reader sees there, realistic variants and paraphrases),
clean public sample logs, and error lines for the five seed guides. See the README in that folder.
"""

import hashlib
import re
from pathlib import Path

import pytest
import yaml

RELEVANCE = Path(__file__).resolve().parents[1] / "fixtures" / "relevance"
GUIDES = RELEVANCE / "guides"
LOGS = RELEVANCE / "logs"
SOURCE_KEYS = ("project", "repo", "path", "commit", "licence", "file", "format", "split", "sha256")
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*$")


def _guide_slugs() -> list[str]:
    return sorted(p.name for p in GUIDES.iterdir() if p.is_dir())


def _load(path: Path) -> dict:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _guide_text(slug: str) -> str:
    source = _load(GUIDES / slug / "SOURCE.yml")
    return (GUIDES / slug / source["file"]).read_text(encoding="utf-8")


def _headings(text: str) -> list[tuple[int, str, int]]:
    """(level, heading text, line number) of every ATX heading outside fenced code blocks."""
    found, in_fence = [], False
    for number, line in enumerate(text.split("\n")):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else HEADING.match(line)
        if match:
            found.append((len(match.group(1)), match.group(2), number))
    return found


def _sections(text: str, heading: str, path: list[str], *, emoji_prefixes: bool = False) -> list[str]:
    """Texts (heading line to the next heading of the same or a higher level) of the sections
    titled `heading` whose ancestors include `path`, in order. With `emoji_prefixes`, an ancestor
    also matches a step when its title is the step behind an icon (some seed headings start with
    mis-encoded emoji)."""
    lines, headings = text.split("\n"), _headings(text)
    bodies = []
    for index, (level, title, number) in enumerate(headings):
        if title != heading:
            continue
        ancestors, wanted_level = [], level
        for parent_level, parent_title, _ in reversed(headings[:index]):
            if parent_level < wanted_level:
                ancestors.insert(0, parent_title)
                wanted_level = parent_level
        remaining = iter(ancestors)
        if not all(any(_same_title(ancestor, step, emoji_prefixes) for ancestor in remaining) for step in path):
            continue
        end = next((n for lvl, _, n in headings[index + 1:] if lvl <= level), len(lines))
        bodies.append("\n".join(lines[number:end]))
    return bodies


def _same_title(title: str, step: str, emoji_prefixes: bool) -> bool:
    if title == step:
        return True
    prefix = title[: -len(step) - 1] if title.endswith(" " + step) else None
    return emoji_prefixes and prefix is not None and not re.search(r"[A-Za-z0-9]", prefix)


def _truth_sections(slug: str) -> list[dict]:
    return _load(GUIDES / slug / "truth.yml")["sections"]


def test_there_are_at_least_twelve_guides_and_a_third_are_held_out() -> None:
    slugs = _guide_slugs()
    splits = [_load(GUIDES / slug / "SOURCE.yml")["split"] for slug in slugs]
    assert len(slugs) >= 12
    assert splits.count("heldout") * 3 >= len(slugs)


def _is_fresh(slug: str) -> bool:
    return _load(GUIDES / slug / "SOURCE.yml").get("fresh") is True


def _added(slug: str) -> str | None:
    """The batch a guide came in (`added` in SOURCE.yml); None for the original fourteen."""
    added = _load(GUIDES / slug / "SOURCE.yml").get("added")
    return str(added) if added else None


def test_the_held_out_guides_are_every_third_in_alphabetical_order() -> None:
    """The rule covers the original fourteen; guides added later (dated batches) stay out of it."""
    original = [slug for slug in _guide_slugs() if _added(slug) is None]
    assert len(original) == 14
    assert not any(_is_fresh(slug) for slug in original)
    for index, slug in enumerate(original):
        expected = "heldout" if index % 3 == 0 else "dev"
        assert _load(GUIDES / slug / "SOURCE.yml")["split"] == expected, slug


def test_the_first_fresh_batch_is_three_held_out_guides() -> None:
    batch = [slug for slug in _guide_slugs() if _added(slug) == "2026-12-06"]
    assert batch == ["docker-desktop-troubleshoot-topics", "helm-troubleshooting", "jupyter-notebook-troubleshooting"]
    assert all(_is_fresh(slug) for slug in batch)


def test_the_second_batch_holds_out_every_third_guide_as_fresh() -> None:
    """Six guides added on 2026-12-06 (batch b), split by slug order when they were added, before any result."""
    batch = [slug for slug in _guide_slugs() if _added(slug) == "2026-12-06b"]
    assert len(batch) == 6
    for index, slug in enumerate(batch):
        held_out = index % 3 == 0
        assert _load(GUIDES / slug / "SOURCE.yml")["split"] == ("heldout" if held_out else "dev"), slug
        assert _is_fresh(slug) is held_out, slug


def test_fresh_guides_are_always_held_out_and_dated() -> None:
    for slug in filter(_is_fresh, _guide_slugs()):
        source = _load(GUIDES / slug / "SOURCE.yml")
        assert source["split"] == "heldout", slug
        assert source.get("added"), slug


def test_the_guides_come_from_different_projects_in_several_formats() -> None:
    sources = [_load(GUIDES / slug / "SOURCE.yml") for slug in _guide_slugs()]
    assert len({s["repo"] for s in sources}) == len(sources)
    assert {"hugo", "mkdocs", "docusaurus", "wiki", "readme", "runbook"} <= {s["format"] for s in sources}


@pytest.mark.parametrize("slug", _guide_slugs())
def test_every_guide_records_its_source_and_is_unchanged(slug: str) -> None:
    source = _load(GUIDES / slug / "SOURCE.yml")
    assert all(source.get(key) for key in SOURCE_KEYS), [k for k in SOURCE_KEYS if not source.get(k)]
    assert re.fullmatch(r"[0-9a-f]{40}", source["commit"])
    assert source["split"] in {"dev", "heldout"}
    stored = (GUIDES / slug / source["file"]).read_bytes()
    assert hashlib.sha256(stored).hexdigest() == source["sha256"], "the stored guide was edited"


@pytest.mark.parametrize("slug", _guide_slugs())
def test_every_truth_heading_names_one_section_of_its_guide(slug: str) -> None:
    text = _guide_text(slug)
    sections = _truth_sections(slug)
    assert len(sections) >= 5
    for section in sections:
        found = _sections(text, section["heading"], section.get("path", []))
        assert len(found) >= section.get("occurrence", 1), section["heading"]


@pytest.mark.parametrize("slug", _guide_slugs())
def test_every_truth_error_stands_verbatim_in_its_section(slug: str) -> None:
    text = _guide_text(slug)
    for section in _truth_sections(slug):
        body = _sections(text, section["heading"], section.get("path", []))[section.get("occurrence", 1) - 1]
        for error in section["errors"]:
            assert error["text"] in body, (section["heading"], error["text"])


@pytest.mark.parametrize("slug", _guide_slugs())
def test_every_error_has_variants_and_every_section_paraphrases(slug: str) -> None:
    for section in _truth_sections(slug):
        paraphrases = section["paraphrases"]
        assert 1 <= len(paraphrases) <= 3, section["heading"]
        assert all(section["heading"].lower() not in p.lower() for p in paraphrases)
        for error in section["errors"]:
            variants = error["variants"]
            assert 1 <= len(variants) <= 3, error["text"]
            assert all(v.strip() and v != error["text"] for v in variants), error["text"]


def test_there_are_several_hundred_error_strings() -> None:
    errors = [e for slug in _guide_slugs() for s in _truth_sections(slug) for e in s["errors"]]
    assert len(errors) >= 200


def test_there_are_at_least_three_clean_logs_with_sources() -> None:
    logs = sorted(LOGS.glob("*.log"))
    sources = _load(LOGS / "SOURCE.yml")["logs"]
    assert len(logs) >= 3
    assert {log.name for log in logs} == set(sources)
    for name, source in sources.items():
        assert all(source.get(key) for key in ("system", "repo", "path", "commit", "licence", "lines")), name
        assert (LOGS / name).stat().st_size < 2_500_000
        assert hashlib.sha256((LOGS / name).read_bytes()).hexdigest() == source["sha256"], name
        assert sum(1 for _ in (LOGS / name).open(encoding="utf-8", errors="replace")) == source["lines"]


def test_clean_logs_are_permissively_licensed_and_from_different_systems() -> None:
    sources = _load(LOGS / "SOURCE.yml")["logs"]
    for name, source in sources.items():
        assert re.match(r"(MIT|Apache-2\.0|BSD-[23]-Clause)\b", source["licence"]), name
    assert len({source["system"] for source in sources.values()}) == len(sources) >= 3
    assert not list(LOGS.glob("LICENSE*")), "a log under a restrictive licence left its notice behind"


def test_clean_logs_hold_no_error_lines() -> None:
    error_level = re.compile(r"\b(ERROR|FATAL|SEVERE|CRITICAL)\b|^\S+ [EF] ")
    for log in sorted(LOGS.glob("*.log")):
        lines = log.read_text(encoding="utf-8").splitlines()
        assert not [line for line in lines if error_level.search(line)], log.name


def test_seed_error_lines_cover_each_seed_guide() -> None:
    seeds = _load(RELEVANCE / "seed_error_lines.yml")["guides"]
    assert len(seeds) == 5
    for guide, cases in seeds.items():
        assert 12 <= len(cases) <= 20, guide
        assert all(case["line"].strip() and case["article"] for case in cases), guide


def test_seed_error_lines_expect_sections_that_exist() -> None:
    from tests.seeds import seed_path  # fails, not skips, when the seeds are missing

    for guide, cases in _load(RELEVANCE / "seed_error_lines.yml")["guides"].items():
        text = seed_path(f"{guide}.md").read_text(encoding="utf-8")
        for case in cases:
            *path, heading = case["article"]
            assert _sections(text, heading, path, emoji_prefixes=True), (guide, case["article"])
