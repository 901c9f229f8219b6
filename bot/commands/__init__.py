"""The ``vsm`` subcommands, one module each, each defining ``command`` (a click command).

A command is named after its module, underscores as dashes (``check_config`` is
``vsm check-config``), so ``bot.cli`` lists the commands from the file names alone and imports
only the one that runs. ``import`` is a Python keyword, so ``vsm import`` lives in ``import_csv``.
"""

from __future__ import annotations

import pkgutil

RENAMED = {"import_csv": "import"}
"""Modules whose command cannot be named after them."""


def command_modules() -> dict[str, str]:
    """Every command's name and the module (in this package) defining it, without importing."""
    names = (info.name for info in pkgutil.iter_modules(__path__))
    return {RENAMED.get(name, name.replace("_", "-")): name for name in names}
