"""vsm-bot in Slack, grouped by what happens.

- :mod:`~bot.slack.receiving`: what arrives (request guard, Bolt listeners, command parser,
  command handlers);
- :mod:`~bot.slack.answering`: what the bot says (answer data, charts, Block Kit rendering,
  App Home);
- :mod:`~bot.slack.delivering`: what goes out (clients, pacing, once-only posts, digests,
  alerts, the jobs the scheduler calls);
- :mod:`~bot.slack.state`: sealed OAuth installations and team lookup.

Composition stays at the top: :mod:`~bot.slack.app` builds the Bolt app and
:mod:`~bot.slack.wsgi` serves it over HTTP; :mod:`~bot.slack.deps`, :mod:`~bot.slack.ids` and
:mod:`~bot.slack.manifest` are shared by the rooms. Nothing here imports :mod:`bot.scheduler`:
``vsm serve`` and :mod:`bot.wsgi` wire the scheduler next to the app.
"""
