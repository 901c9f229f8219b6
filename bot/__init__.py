"""vsm-bot."""
