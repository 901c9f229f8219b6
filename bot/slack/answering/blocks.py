"""Block Kit building blocks: escaping, typed blocks clipped to Slack's limits, a message budget.

Every message the bot sends goes through :func:`fit`, which keeps it within 50 blocks (100 for the
App Home) and about 8,000 characters of block text, and always carries a plain-text fallback.
Text from outside (work-item titles, people, error messages) is escaped with :func:`escape`, which
also neutralises injected mentions and links; a vendor's URL becomes a link or a button only when
:func:`web_url` finds it safe for Slack to carry. Text Slack sends us (a slash command's ``text``)
arrives with those three characters already escaped: :func:`unescape` decodes it once on the way
in, so that it is escaped exactly once on the way out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    OverflowMenuElement,
    SectionBlock,
)

MAX_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
SECTION_CHARS = 3000
FIELD_CHARS = 2000
HEADER_CHARS = 150
BUTTON_CHARS = 75
URL_CHARS = 3000
CONTEXT_ELEMENTS = 10
MESSAGE_CHARS = 8000
"""Our budget of block text per message: well under what Slack rejects (about 12,000)."""
FALLBACK_CHARS = 3000
CUT_NOTE_CHARS = 80
ELLIPSIS = "…"
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">"}
_ENTITY = re.compile("|".join(_ENTITIES))


def escape(text: str) -> str:
    """Escape the three mrkdwn control characters (``&``, ``<``, ``>``) in outside text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Decode, once, the three entities Slack escaped in text it sent (``&amp;lt;`` -> ``&lt;``).

    The result is what the person typed: hostile text, to be escaped again if it is shown.
    """
    return _ENTITY.sub(lambda match: _ENTITIES[match.group()], text)


def clip(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def web_url(url: str | None) -> str | None:
    """``url`` when Slack can carry it in a link or a button, else None.

    That is http(s), at most 3,000 characters, nothing that ends a mrkdwn link (``<``, ``>``,
    ``|``), no spaces and no control characters.
    """
    if not url or len(url) > URL_CHARS or not url.lower().startswith(("https://", "http://")):
        return None
    if any(c in "<>|" or c.isspace() or not c.isprintable() for c in url):
        return None
    return url


def link(url: str | None, label: str) -> str:
    """A mrkdwn link to ``url`` labelled with escaped ``label``.

    Just the label when the url is missing or unsafe (see :func:`web_url`).
    """
    text = escape(label)
    safe = web_url(url)
    if safe is None:
        return text
    return f"<{safe}|{text.replace('|', '¦')}>"


def slack_date(when: datetime, fmt: str = "{date_short_pretty} {time}") -> str:
    """A date each reader sees in their own time zone, with a UTC fallback."""
    fallback = when.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{fmt}|{fallback}>"


def header(text: str) -> HeaderBlock:
    """A header (plain text, clipped to 150 characters)."""
    return HeaderBlock(text=clip(text, HEADER_CHARS))


Accessory = ButtonElement | OverflowMenuElement
"""What a section may carry beside its text: a button or an overflow menu."""


def section(mrkdwn: str, accessory: Accessory | None = None) -> SectionBlock:
    """A mrkdwn section, clipped to 3,000 characters."""
    text = MarkdownTextObject(text=clip(mrkdwn, SECTION_CHARS), verbatim=True)
    return SectionBlock(text=text, accessory=accessory)


def fields(pairs: Sequence[tuple[str, str]], accessory: Accessory | None = None) -> SectionBlock:
    """A two-column section of up to 10 ``*label*\\nvalue`` fields (``accessory`` beside it)."""
    return SectionBlock(
        fields=[
            MarkdownTextObject(text=clip(f"*{label}*\n{value}", FIELD_CHARS), verbatim=True)
            for label, value in pairs[:10]
        ],
        accessory=accessory,
    )


def context(*mrkdwn: str) -> ContextBlock:
    """A small grey line (up to 10 elements)."""
    return ContextBlock(
        elements=[
            MarkdownTextObject(text=clip(t, SECTION_CHARS), verbatim=True)
            for t in mrkdwn[:CONTEXT_ELEMENTS]
        ]
    )


def divider() -> DividerBlock:
    """A horizontal rule."""
    return DividerBlock()


def button(
    text: str,
    action_id: str,
    value: str | None = None,
    *,
    url: str | None = None,
    style: str | None = None,
) -> ButtonElement:
    """A button; ``value`` carries an id only, never state."""
    return ButtonElement(
        text=clip(text, BUTTON_CHARS), action_id=action_id, value=value, url=url, style=style
    )


def actions(*elements: ButtonElement, block_id: str | None = None) -> ActionsBlock:
    """A row of buttons."""
    return ActionsBlock(elements=list(elements), block_id=block_id)


@dataclass(frozen=True)
class Message:
    """A message: Block Kit blocks plus the plain-text fallback used by notifications."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def as_kwargs(self) -> dict[str, Any]:
        """``text`` and ``blocks`` as the Web API expects them."""
        return {"text": self.text, "blocks": [b.to_dict() for b in self.blocks]}


def block_chars(block: Block | dict[str, Any]) -> int:
    """Characters of text a block carries (what Slack counts against its size limits)."""
    data = block.to_dict() if isinstance(block, Block) else block
    return _text_chars(data)


def _text_chars(node: Any) -> int:
    if isinstance(node, dict):
        return sum(
            len(v) if k == "text" and isinstance(v, str) else _text_chars(v)
            for k, v in node.items()
        )
    if isinstance(node, list):
        return sum(_text_chars(v) for v in node)
    return 0


def fit(
    text: str,
    blocks: Iterable[Block],
    *,
    max_blocks: int = MAX_BLOCKS,
    max_chars: int = MESSAGE_CHARS,
) -> Message:
    """Keep ``blocks`` within the block and character budgets; say so when something was cut.

    ``text`` is the plain-text fallback (notifications, screen readers). Slack reads it as mrkdwn,
    so it is escaped here: pass it unescaped.
    """
    fallback = escape(clip(text, FALLBACK_CHARS))
    all_blocks = list(blocks)
    sizes = [block_chars(b) for b in all_blocks]
    if len(all_blocks) <= max_blocks and sum(sizes) <= max_chars:
        return Message(text=fallback, blocks=all_blocks)
    kept: list[Block] = []
    used = 0
    for block, size in zip(all_blocks, sizes, strict=True):
        if len(kept) >= max_blocks - 1 or used + size > max_chars - CUT_NOTE_CHARS:
            break
        kept.append(block)
        used += size
    left_out = len(all_blocks) - len(kept)
    kept.append(context(f"{ELLIPSIS} {left_out} more part(s) left out to fit in Slack."))
    return Message(text=fallback, blocks=kept)


def list_sections(lines: Sequence[str], max_chars: int = SECTION_CHARS) -> list[SectionBlock]:
    """Pack mrkdwn lines into as few sections as possible, each within 3,000 characters."""
    sections: list[SectionBlock] = []
    chunk: list[str] = []
    size = 0
    for line in lines:
        line = clip(line, max_chars)
        if chunk and size + len(line) + 1 > max_chars:
            sections.append(section("\n".join(chunk)))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        sections.append(section("\n".join(chunk)))
    return sections
