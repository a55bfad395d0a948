"""The parser against real-style announcements (tests/notices/data/notices): every text read exactly right.

Each file is one announcement written the way bureaus write them; expectations.yaml says what a person
reads in it. The score is printed so a change that reads more texts right (or fewer) shows at once.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from notices.parsing import parse_notice_text

CORPUS = Path(__file__).parent / "data" / "notices"
EXPECTED = yaml.safe_load((CORPUS / "expectations.yaml").read_text(encoding="utf-8"))


def _read(name: str, expected: dict) -> dict:
    given = expected.get("given_published")
    proposal = parse_notice_text(
        (CORPUS / f"{name}.txt").read_text(encoding="utf-8"), published=date.fromisoformat(given) if given else None
    )
    found = {
        "region": proposal.region,
        "system": proposal.system_name,
        "bureau": proposal.bureau,
        "title": proposal.title,
        "windows": [[w.start.isoformat(), w.end.isoformat()] for w in proposal.windows],
        "functions": proposal.functions,
    }
    if "published" in expected:
        found["published"] = proposal.published_on.isoformat() if proposal.published_on else None
    return found


def _wanted(expected: dict) -> dict:
    return {key: value for key, value in expected.items() if key != "given_published"}


def test_the_corpus_is_large_and_every_text_has_expectations():
    texts = {path.stem for path in CORPUS.glob("*.txt")}
    assert len(texts) >= 40
    assert texts == set(EXPECTED)


def test_the_parser_reads_every_text_of_the_corpus_exactly(capsys):
    wrong = {}
    for name, expected in sorted(EXPECTED.items()):
        found = _read(name, expected)
        wanted = _wanted(expected)
        differences = {key: (found.get(key), value) for key, value in wanted.items() if found.get(key) != value}
        if differences:
            wrong[name] = differences
    right = len(EXPECTED) - len(wrong)
    with capsys.disabled():
        print(f"\nnotice corpus: {right}/{len(EXPECTED)} texts read exactly ({100 * right / len(EXPECTED):.0f}%)")
        for name, differences in wrong.items():
            for key, (got, want) in differences.items():
                print(f"  {name}: {key}: got {got!r}, want {want!r}")
    assert not wrong


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_text(name):
    assert _read(name, EXPECTED[name]) == _wanted(EXPECTED[name])
