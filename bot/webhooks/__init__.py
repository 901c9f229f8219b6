"""Vendor webhooks: a verified delivery is a hint that a source changed, never data.

:mod:`bot.webhooks.verify` checks each vendor's signature and names the delivery;
:mod:`bot.webhooks.receiver` serves ``POST /webhooks/<source name>``, remembers deliveries
(a redelivery is answered, not acted on) and hands the source's name to a hint sink, which runs
the source's usual incremental sync and the team's alert sweep.
"""
