"""vsm-bot in Slack: the Bolt app, its listeners, Block Kit rendering, digests and alerts."""
