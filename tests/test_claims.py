"""The claims ledger (docs/claims.json) against the committed figure JSON, and the tables it renders."""

import json
import re
import shutil

import pytest

from sims import claims

#: the only numerals the README's results prose may carry outside the generated table
NOT_CLAIMS = ("95 %", "O(m^{-1/2})", "−½")


def test_every_verdict_holds_and_every_table_is_current():
    problems: list[str] = []
    assert claims.check(report=problems.append), "\n".join(problems)


def _copy(tmp_path):
    figures = tmp_path / "figures"
    shutil.copytree(claims.ROOT / "figures" / "paper", figures, ignore=shutil.ignore_patterns("*.png", "*.pdf"))
    docs = {name: tmp_path / path.name for name, path in claims.DOCUMENTS.items()}
    for name, path in claims.DOCUMENTS.items():
        shutil.copy(path, docs[name])
    return figures, docs


def test_a_changed_json_value_that_breaks_a_claim_fails_the_check(tmp_path):
    figures, docs = _copy(tmp_path)
    width = json.loads((figures / "width.json").read_text())
    width["k=2"]["gd_slope_ci95"] = [-0.6, -0.4]  # an interval that no longer excludes -1/2's bound
    (figures / "width.json").write_text(json.dumps(width))
    problems: list[str] = []
    assert not claims.check(figures=figures, report=problems.append, paths=docs)
    assert any("width-tail-exponent:" in p and "faster than bound" in p for p in problems), problems
    # the rendered table no longer matches either: the README states the old interval
    assert any("README.md: a generated table is stale" in p for p in problems), problems


def test_an_edited_number_in_the_table_is_caught(tmp_path):
    figures, docs = _copy(tmp_path)
    text = docs["README"].read_text()
    start, end = text.index(claims.BEGIN), text.index(claims.END)
    number = re.search(r"\d+\.\d+ \[", text[start:end]).group(0)  # the first measured value in the table
    docs["README"].write_text(text[:start] + text[start:end].replace(number, "9" + number, 1) + text[end:])
    problems: list[str] = []
    assert not claims.check(figures=figures, report=problems.append, paths=docs)
    assert problems == ["README.md: a generated table is stale; run python -m sims.claims --write"]


def _prose(section: str) -> str:
    """``section`` without its generated tables, images, links, code spans and headings."""
    for begin, end in ((claims.BEGIN, claims.END), (claims.REGIMES_BEGIN, claims.REGIMES_END)):
        if begin in section:
            section = section[: section.index(begin)] + section[section.index(end) + len(end):]
    prose = re.sub(r"!\[.*?\]\(.*?\)|\(\S+\.(json|md|png)\)|`[^`]*`|^#.*$", "", section, flags=re.M)
    for allowed in NOT_CLAIMS:
        prose = prose.replace(allowed, "")
    return prose


@pytest.mark.parametrize("document, heading", [("README", "Main results"), ("paper_profile", "Results")])
def test_the_results_prose_states_no_number_outside_the_ledger(document, heading):
    text = claims.DOCUMENTS[document].read_text()
    section = re.search(rf"## {heading}.*?(?=\n## |\Z)", text, re.S).group(0)
    prose = _prose(section)
    assert re.findall(r"\d", prose) == [], prose


def test_the_paper_profile_states_the_runs_its_figures_hold():
    stated = re.search(r"([\d ]+) runs", claims.DOCUMENTS["paper_profile"].read_text()).group(1)
    sweeps = {}  # one entry per sweep: an experiment drawing two figures records its runs in both
    for path in (claims.ROOT / "figures" / "paper").glob("*.json"):
        runs = json.loads(path.read_text()).get("made_with", {}).get("runs")
        if runs:
            sweeps[json.dumps(runs, sort_keys=True)] = runs["runs"]
    held = sum(sweeps.values())
    assert int(stated.replace(" ", "")) == held


@pytest.mark.parametrize("change, message", [
    ({"verdict": "probably"}, "verdict must be one of"),
    ({"show": ["blog"]}, "show must name"),
    ({"typo": 1}, "unknown field(s) ['typo']"),
])
def test_a_bad_ledger_row_gets_one_line_naming_it(tmp_path, change, message):
    row = json.loads(claims.LEDGER.read_text())[0]
    if "verdict" in change:
        row["predictions"][0]["verdict"] = change["verdict"]
    else:
        row |= change
    ledger = tmp_path / "claims.json"
    ledger.write_text(json.dumps([row]))
    with pytest.raises(ValueError, match=re.escape(message)):
        claims.load(ledger)


def test_a_missing_field_is_named():
    with pytest.raises(KeyError, match="no field 'k=2/nope'"):
        claims.lookup({"k=2": {"gd_slope": -1}}, "k=2/nope")
