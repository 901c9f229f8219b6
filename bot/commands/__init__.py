"""The ``vsm`` subcommands, one module each (discovered by ``bot.cli``)."""
