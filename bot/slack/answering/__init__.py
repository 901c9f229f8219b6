"""Answering: the answer data and its Block Kit rendering.

:mod:`~bot.slack.answering.answers` computes what a command or digest says (cached per team and
data version), :mod:`~bot.slack.answering.chart_processes` draws charts away from the request
threads, and the ``render*`` modules, :mod:`~bot.slack.answering.home` and
:mod:`~bot.slack.answering.blocks` turn it into Slack messages and views. Nothing here posts.
"""
