"""Delivering: everything that posts to Slack, and posts it once.

:mod:`~bot.slack.delivering.client` makes the Web API clients (with
:mod:`~bot.slack.delivering.pacing`), :mod:`~bot.slack.delivering.poster` posts with pacing and
once-only checks, :mod:`~bot.slack.delivering.sends` claims each send in the database,
:mod:`~bot.slack.delivering.digests` and :mod:`~bot.slack.delivering.alerts` decide what goes
out, :mod:`~bot.slack.delivering.jobs` are the entry points the scheduler calls, and
:mod:`~bot.slack.delivering.problems` names what went wrong.
"""
