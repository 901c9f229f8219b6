"""State: what the Slack side keeps or looks up: sealed OAuth installations and team lookup."""
