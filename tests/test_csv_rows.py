"""CSV rows are never lost: an unclosed quote, a huge cell or a hostile value costs one row only."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from insights.model import ItemHistory, Page, Stage
from insights.workflow import Workflow
from integrations.base import SourceContext, SourceError
from integrations.csv_source import Config, CsvSource

HEADER = "key,title,type,status,changed_at,url\n"
GOOD = [f"PAY-{n},Item {n},Story,Backlog,2026-11-0{n}T09:00:00Z,\n" for n in range(1, 6)]
JIRA_HEADER = "Summary,Issue key,Issue Type,Status,Created\n"
JIRA_GOOD = [f"Item {n},PAY-{n},Story,Backlog,0{n}/Nov/26 9:00 AM\n" for n in range(1, 6)]


def source(path: Path) -> CsvSource:
    workflow = Workflow({"Backlog": Stage.BACKLOG, "Done": Stage.DONE})
    now = datetime(2026, 11, 25, 16, tzinfo=UTC)
    context = SourceContext("payments", workflow, lambda: now, lambda seconds: None)
    return CsvSource(Config(path=str(path)), context)


def by_key(pages: list[Page]) -> dict[str, ItemHistory]:
    return {h.item.key: h for page in pages for h in page.histories}


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "flow.csv"
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "bad",
    [
        'PAY-0,"Broken title,Story,Backlog,2026-11-01T08:00:00Z,\n',  # fields run short
        'PAY-0,Broken,Story,Backlog,2026-11-01T08:00:00Z,"https://x.test/a\n',  # the last one
    ],
    ids=["middle-column", "last-column"],
)
def test_an_unclosed_quote_costs_its_own_row_only(tmp_path: Path, bad: str) -> None:
    csv = source(write(tmp_path, HEADER, bad, *GOOD))
    pages = list(csv.pull(None))
    assert sorted(by_key(pages)) == ["PAY-1", "PAY-2", "PAY-3", "PAY-4", "PAY-5"]
    assert sum(p.skipped for p in pages) == 1
    [problem] = csv.problems
    assert problem.startswith("line 2: ") and "quote" in problem
    assert "reading goes on at line 3" in problem


def test_an_unclosed_quote_closed_by_a_later_one_costs_its_own_row_only(tmp_path: Path) -> None:
    later = 'PAY-6,"Fix, now",Story,Backlog,2026-11-06T09:00:00Z,\n'
    csv = source(write(tmp_path, HEADER, 'PAY-0,"Broken,Story\n', *GOOD, later))
    got = by_key(list(csv.pull(None)))
    assert sorted(got) == ["PAY-1", "PAY-2", "PAY-3", "PAY-4", "PAY-5", "PAY-6"]
    assert got["PAY-6"].item.title == "Fix, now"
    assert [p.split(":")[0] for p in csv.problems] == ["line 2"]


def test_an_unclosed_quote_in_a_jira_export_costs_its_own_row_only(tmp_path: Path) -> None:
    bad = '"Broken summary,PAY-0,Story,Backlog,01/Nov/26 8:00 AM\n'
    csv = source(write(tmp_path, JIRA_HEADER, bad, *JIRA_GOOD))
    assert sorted(by_key(list(csv.pull(None)))) == ["PAY-1", "PAY-2", "PAY-3", "PAY-4", "PAY-5"]
    assert [p.split(":")[0] for p in csv.problems] == ["line 2"]


def test_a_value_over_several_lines_is_still_one_row(tmp_path: Path) -> None:
    title = '"Fix it\nPAY-9,a,b,c,d\nnow"'  # a middle line with commas, but not a row: 5 fields
    csv = source(write(tmp_path, HEADER, f"PAY-0,{title},Story,Backlog,2026-11-01T08:00:00Z,\n"))
    got = by_key(list(csv.pull(None)))
    assert got["PAY-0"].item.title == "Fix it\nPAY-9,a,b,c,d\nnow"
    assert csv.problems == []


def test_a_huge_cell_costs_its_own_row_only(tmp_path: Path) -> None:
    huge = f"PAY-9,{'x' * 200_000},Story,Backlog,2026-11-01T08:00:00Z,\n"
    csv = source(write(tmp_path, HEADER, GOOD[0], huge, *GOOD[1:]))
    pages = list(csv.pull(None))
    assert sorted(by_key(pages)) == ["PAY-1", "PAY-2", "PAY-3", "PAY-4", "PAY-5"]
    assert csv.problems == [
        "line 3: a value is longer than 131072 characters, the most the CSV reader takes; "
        "shorten it"
    ]
    assert sum(p.skipped for p in pages) == 1


def test_a_huge_unclosed_value_costs_its_own_row_only(tmp_path: Path) -> None:
    huge = f'PAY-9,"{"x" * 200_000}\n'
    csv = source(write(tmp_path, HEADER, GOOD[0], huge, *GOOD[1:]))
    assert sorted(by_key(list(csv.pull(None)))) == ["PAY-1", "PAY-2", "PAY-3", "PAY-4", "PAY-5"]
    assert [p.split(":")[0] for p in csv.problems] == ["line 3"]


def test_a_header_that_runs_over_lines_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"header row \(line 1\).*quote"):
        list(source(write(tmp_path, 'key,"title,type,status,changed_at\n', *GOOD)).pull(None))


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html;charset=utf-8",
        "ftp://x.test/a",
        "//x.test",
    ],
)
def test_only_http_links_are_kept(tmp_path: Path, url: str) -> None:
    rows = (
        "PAY-1,Item,Story,Backlog,2026-11-01T09:00:00Z,https://jira.example.com/browse/PAY-1\n",
        f"PAY-1,,,Done,2026-11-02T09:00:00Z,{url}\n",
        f"PAY-2,Item,Story,Backlog,2026-11-01T09:00:00Z,{url}\n",
    )
    csv = source(write(tmp_path, HEADER, *rows))
    got = by_key(list(csv.pull(None)))
    assert got["PAY-1"].item.url == "https://jira.example.com/browse/PAY-1"
    assert got["PAY-1"].item.status == "Done"  # the row is kept, only its link dropped
    assert got["PAY-2"].item.url is None
    assert csv.problems == []
    assert csv.dropped_links == [
        f"line 3: url {url!r} is not an http(s) link; the link is dropped, the row kept",
        f"line 4: url {url!r} is not an http(s) link; the link is dropped, the row kept",
    ]
    assert csv.dry_run()["dropped links"] == 2


@pytest.mark.parametrize(
    ("changed_at", "points", "message"),
    [
        ("0001-01-01T00:00:00+05:00", "", "changed_at '0001-01-01T00:00:00+05:00' is out of range"),
        ("9999-12-31T23:59:59-05:00", "", "changed_at '9999-12-31T23:59:59-05:00' is out of range"),
        ("2026-11-01T09:00:00Z", "inf", "story_points 'inf' is not a number"),
        ("2026-11-01T09:00:00Z", "nan", "story_points 'nan' is not a number"),
    ],
)
def test_out_of_range_values_cost_their_row_only(
    tmp_path: Path, changed_at: str, points: str, message: str
) -> None:
    path = tmp_path / "flow.csv"
    path.write_text(
        "key,title,type,status,changed_at,story_points\n"
        f"PAY-0,Odd,Story,Backlog,{changed_at},{points}\n"
        "PAY-1,Fine,Story,Backlog,2026-11-01T09:00:00Z,3\n"
    )
    csv = source(path)
    assert sorted(by_key(list(csv.pull(None)))) == ["PAY-1"]
    assert [p.split(";")[0] for p in csv.problems] == [f"line 2: {message}"]


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_every_line_ending_gives_the_rows_and_their_lines(tmp_path: Path, end: str) -> None:
    lines = [
        "key,title,type,status,changed_at,url",
        'PAY-1,"Two',
        'lines",Story,Backlog,2026-11-01T09:00:00Z,',
        "PAY-2,Fine,Story,Backlog,yesterday,",
        "PAY-3,Fine,Story,Backlog,2026-11-03T09:00:00Z,",
    ]
    path = tmp_path / "flow.csv"
    path.write_bytes(end.join(lines).encode() + end.encode())
    csv = source(path)
    got = by_key(list(csv.pull(None)))
    assert sorted(got) == ["PAY-1", "PAY-3"]
    assert got["PAY-1"].item.title == f"Two{end}lines"
    assert [p.split(":")[0] for p in csv.problems] == ["line 4"]


def test_an_unclosed_quote_on_the_last_line_is_named(tmp_path: Path) -> None:
    csv = source(write(tmp_path, HEADER, *GOOD, 'PAY-0,"Broken,Story,Backlog\n'))
    assert sorted(by_key(list(csv.pull(None)))) == ["PAY-1", "PAY-2", "PAY-3", "PAY-4", "PAY-5"]
    assert csv.problems == ["line 7: expected 6 columns, found 2: a quote is probably not closed"]
