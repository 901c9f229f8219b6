"""Discover the sources: every module in ``integrations/`` that declares ``SOURCE_TYPE``.

A source module declares ``SOURCE_TYPE`` (the ``type:`` in app.yaml), a pydantic ``Config``
(subclass of :class:`~integrations.base.SourceConfig`) and ``build(config, ctx)``. Adding a source
is adding such a module; nothing else needs to know its name.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import integrations
from integrations.base import Source, SourceConfig, SourceContext


@dataclass(frozen=True)
class SourcePlugin:
    """A discovered source module: its type name, config model and factory."""

    type: str
    config: type[SourceConfig]
    build: Callable[[Any, SourceContext], Source]


@cache
def plugins() -> dict[str, SourcePlugin]:
    """All source plugins by type name, discovered once."""
    found: dict[str, SourcePlugin] = {}
    for info in pkgutil.iter_modules(integrations.__path__):
        module = importlib.import_module(f"integrations.{info.name}")
        source_type = getattr(module, "SOURCE_TYPE", None)
        if source_type is None:
            continue
        if source_type in found:
            raise RuntimeError(f"two source modules declare SOURCE_TYPE {source_type!r}")
        found[source_type] = SourcePlugin(source_type, module.Config, module.build)
    return found


def build_source(config: SourceConfig, ctx: SourceContext) -> Source:
    """Build the source that ``config`` describes."""
    return plugins()[config.type].build(config, ctx)
