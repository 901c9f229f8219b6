"""The answer to ``/vsm forecast epic|label``: base and what-if side by side, caveats, escaping."""

from __future__ import annotations

import json
from datetime import date

from bot.slack.answering.render_scope import render_scope, scope_summary
from insights.scopes import Levers, ScopeForecast, ScopeRef

TARGET = date(2027, 1, 15)
REF = ScopeRef("label", "release-2.3", TARGET, "Release 2.3")


def forecast(**changes) -> ScopeForecast:
    fields = {
        "ref": REF,
        "done": 7,
        "remaining": 18,
        "total": 25,
        "growth_per_week": 4.1,
        "dates": {50: date(2027, 1, 19), 85: date(2027, 3, 15), 95: None},
        "probability": 0.08,
        "basis_days": 60,
        "too_short": None,
        "today": date(2026, 11, 25),
    }
    return ScopeForecast(**{**fields, **changes})


def shown(message) -> str:
    return json.dumps([b.to_dict() for b in message.blocks], ensure_ascii=False)


def columns(message) -> list[str]:
    (section,) = [b for b in message.blocks if getattr(b, "fields", None)]
    return [f.text for f in section.fields]


def test_base_and_what_if_stand_side_by_side() -> None:
    levers = Levers(freeze_scope=True, cut=5)
    what_if = forecast(
        remaining=13, total=20, growth_per_week=0.0, probability=0.85, levers=levers,
        dates={50: date(2026, 12, 10), 85: date(2026, 12, 17), 95: date(2026, 12, 21)},
    )  # fmt: skip

    message = render_scope("payments", forecast(), what_if)

    base, changed = columns(message)
    assert base.startswith("*As it is*\n50%: Tue 19 Jan 2027\n85%: Mon 15 Mar 2027\n")
    assert "95%: not within 10 years" in base
    assert "*8% chance by Fri 15 Jan 2027* :warning:" in base
    assert "18 of 25 left" in base and "growth 4.1 a week" in base
    assert changed.startswith("*What if: cut 5 items, freeze the scope*\n50%: Thu 10 Dec 2026")
    assert "*85% chance by Fri 15 Jan 2027*\n" in changed and ":warning:" not in changed
    assert "13 of 20 left" in changed and "growth 0.0 a week" in changed
    assert "When will Release 2.3 be done? · payments" in shown(message)
    assert "what if (cut 5 items, freeze the scope)" in message.text


def test_without_levers_or_target_there_is_one_column_and_no_chance() -> None:
    message = render_scope("payments", forecast(ref=ScopeRef("epic", "PAY-1"), probability=None))

    (only,) = columns(message)
    assert "chance" not in only and "When will epic PAY-1 be done?" in shown(message)


def test_a_short_history_and_a_scope_that_never_finishes_are_said() -> None:
    never = forecast(
        dates=dict.fromkeys((50, 85, 95)), beyond_horizon=1.0, too_short="the epic is 3 days old"
    )

    message = render_scope("payments", never)

    text = shown(message)
    assert "History too short to trust: the epic is 3 days old." in text
    assert "never done: the scope grows about as fast as the team finishes" in text
    assert "never done within 10 years" in scope_summary(never)
    assert "(history too short: the epic is 3 days old)" in scope_summary(never)


def test_a_scope_without_items_says_so() -> None:
    message = render_scope("payments", forecast(done=0, remaining=0, total=0))

    assert "I found no open or done items in Release 2.3" in shown(message)


def test_names_from_outside_are_escaped_outside_the_plain_text_header() -> None:
    hostile = ScopeRef("label", "x", TARGET, "<!channel> & co")

    message = render_scope("payments", forecast(ref=hostile, too_short="the <!channel> & co"))

    sections = [b.to_dict() for b in message.blocks if b.type != "header"]
    assert "<!channel>" not in json.dumps(sections)
    assert "&lt;!channel&gt; &amp; co" in json.dumps(sections)
    assert "<!channel>" not in message.text
