"""Receiving: what arrives from Slack, checked, parsed and handed to its handler.

:mod:`~bot.slack.receiving.guard` checks every HTTP request (size, signature, replay) before Bolt
sees it, :mod:`~bot.slack.receiving.listeners` registers Bolt's listeners by what arrives
(commands, actions, events), :mod:`~bot.slack.receiving.parser` turns ``/vsm`` text into a
:class:`~bot.slack.receiving.parser.Command`, and :mod:`~bot.slack.receiving.handlers` runs it.
"""
