"""Property-based: whatever app.yaml holds, loading gives a config or a field-path error.

No error ever shows the value an environment variable gave (``${HOME}`` below).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yaml import YAMLError

from bot.config import AppConfig, ConfigError, Refused, parse_config, read_yaml

KEYS = st.sampled_from(
    [
        "teams",
        "name",
        "sources",
        "type",
        "seed",
        "workflow",
        "agreements",
        "wip_limit",
        "timezone",
        "digest",
        "daily",
        "weekly",
        "channel",
        "slack",
        "bot_token",
        "database",
        "wip_limits",
        "quiet_hours",
        "start",
        "end",
        "working_hours",
        "days",
        "projects",
        "x",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 100),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            "demo",
            "payments",
            "UTC",
            "Mars/Olympus",
            "09:30",
            "mon 09:00",
            "active",
            "${UNSET}",
            "${UNSET:-7}",
            "${HOME}",
            "done",
            "",
        ]
    ),
    st.text(max_size=12),
)
TREES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=5)
    ),
    max_leaves=25,
)
VALID_TEAM = {"name": "payments", "sources": [{"type": "demo"}]}
HOME = "h0me-S3cret-from-the-env"


def check(data: object) -> None:
    try:
        config = parse_config(data, env={"HOME": HOME})
    except ConfigError as exc:
        assert exc.problems, "a ConfigError must say what is wrong"
        for problem in exc.problems:
            assert isinstance(problem, str) and ": " in problem, problem
            assert HOME not in problem, problem
    else:
        assert isinstance(config, AppConfig)


@settings(max_examples=4000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TREES)
def test_any_document_gives_a_config_or_a_config_error(tree: object) -> None:
    check(tree)


@settings(max_examples=4000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(KEYS, TREES, max_size=6))
def test_any_team_section_gives_a_config_or_a_config_error(team: dict) -> None:
    check({"teams": [{**VALID_TEAM, **team}]})


@settings(max_examples=2000, deadline=None)
@given(st.text(max_size=200))
def test_any_text_file_gives_a_config_or_a_config_error(text: str) -> None:
    try:
        data = read_yaml(text)
    except Refused as exc:
        assert exc.message and exc.mark is not None
        return  # load_config says where and why
    except YAMLError:
        return  # load_config turns YAML syntax errors into a ConfigError with the line
    check(data)
