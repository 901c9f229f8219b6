"""Jira Cloud and Data Center: issues with every status change and flag, incrementally.

app.yaml ``type: jira``; see :mod:`integrations.jira.config` for the settings,
:mod:`integrations.jira.source` for how a sync runs and :mod:`integrations.jira.query` for the
cursor.
"""

from integrations.jira.config import Config
from integrations.jira.source import JiraSource, build

SOURCE_TYPE = "jira"

__all__ = ["SOURCE_TYPE", "Config", "JiraSource", "build"]
