"""Linking pull requests to work items by the keys in their branch, title and body."""

from __future__ import annotations

import pytest

from integrations.linking import extract_keys, key_pattern


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["feature/PAY-12-refunds"], ("PAY-12",)),
        (["feature/pay-12-refunds"], ("PAY-12",)),  # branches are often lower case
        (["PAY-12: Add refunds", "Fixes PAY-12 and PAY-7"], ("PAY-12", "PAY-7")),
        (["https://acme.atlassian.net/browse/PAY-31"], ("PAY-31",)),
        (["(PAY-5)", "[PAY-6]", "PAY-8."], ("PAY-5", "PAY-6", "PAY-8")),
        (["OPS-3", "UTF-8", "ISO-8601"], ()),  # not the team's projects
        (["XPAY-12", "repay-12", "PAY_12", "PAY-0", "PAY-"], ()),  # not standing alone
        (["PAY-123"], ("PAY-123",)),  # never PAY-12 out of PAY-123
        (["PAY-12abc"], ("PAY-12",)),
        ([None, "", "no keys here"], ()),
    ],
)
def test_keys_found(texts, expected) -> None:
    assert extract_keys(texts, ("PAY",)) == expected


def test_keys_of_several_projects_in_order_of_first_appearance() -> None:
    texts = ["core-9/pay-2", "CORE-9 then PAY-2 then CORE-10"]
    assert extract_keys(texts, ("PAY", "CORE")) == ("CORE-9", "PAY-2", "CORE-10")


def test_a_project_key_that_prefixes_another_matches_only_itself() -> None:
    assert extract_keys(["PA-1 PAY-2"], ("PA", "PAY")) == ("PA-1", "PAY-2")
    assert extract_keys(["PAY-2"], ("PA",)) == ()


def test_no_projects_link_nothing() -> None:
    assert key_pattern(()) is None
    assert extract_keys(["PAY-12"], ()) == ()
    assert extract_keys(["PAY-12"], (" ",)) == ()
