"""slack_sdk's SQLAlchemy installation store, with every token sealed before it is stored.

slack_sdk writes OAuth tokens to its tables in clear text; vsm-bot never keeps secrets in clear
text, so this store seals them (encrypt-then-MAC: an HMAC-SHA256 keystream and an HMAC-SHA256
tag, stdlib only) with a key derived from the app's client secret. Rotating the client secret
therefore means reinstalling the app. Values written before sealing are read as they are.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import secrets
from typing import Any, TypeVar

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore

PREFIX = "vsm1:"
NONCE_BYTES = 16
TAG_BYTES = 16
SEALED_FIELDS = (
    "bot_token",
    "bot_refresh_token",
    "user_token",
    "user_refresh_token",
    "incoming_webhook_url",
)
T = TypeVar("T", Bot, Installation)


class SealError(ValueError):
    """A sealed value does not verify: it was altered, or the client secret changed."""


class TokenSealer:
    """Seals and unseals short secrets with keys derived from one secret."""

    def __init__(self, secret: str) -> None:
        root = hashlib.sha256(b"vsm-bot token sealing\x00" + secret.encode()).digest()
        self._enc = hmac.new(root, b"encrypt", hashlib.sha256).digest()
        self._mac = hmac.new(root, b"authenticate", hashlib.sha256).digest()

    def _keystream(self, nonce: bytes, length: int) -> bytes:
        blocks = (length + 31) // 32
        return b"".join(
            hmac.new(self._enc, nonce + i.to_bytes(4, "big"), hashlib.sha256).digest()
            for i in range(blocks)
        )[:length]

    def _tag(self, nonce: bytes, cipher: bytes) -> bytes:
        return hmac.new(self._mac, nonce + cipher, hashlib.sha256).digest()[:TAG_BYTES]

    def seal(self, value: str | None) -> str | None:
        """The sealed form of ``value`` (None and already sealed values pass through)."""
        if value is None or value.startswith(PREFIX):
            return value
        nonce = secrets.token_bytes(NONCE_BYTES)
        plain = value.encode()
        cipher = bytes(
            a ^ b for a, b in zip(plain, self._keystream(nonce, len(plain)), strict=True)
        )
        return PREFIX + base64.urlsafe_b64encode(nonce + cipher + self._tag(nonce, cipher)).decode()

    def unseal(self, value: str | None) -> str | None:
        """The clear value of a sealed one (unsealed values pass through)."""
        if value is None or not value.startswith(PREFIX):
            return value
        raw = base64.urlsafe_b64decode(value.removeprefix(PREFIX).encode())
        nonce, cipher, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
        if not hmac.compare_digest(tag, self._tag(nonce, cipher)):
            raise SealError(
                "a stored Slack token does not verify: the client secret changed or the "
                "database was edited; reinstall the app through /slack/install"
            )
        stream = self._keystream(nonce, len(cipher))
        return bytes(a ^ b for a, b in zip(cipher, stream, strict=True)).decode()


def _map_tokens(entity: T, convert: Any) -> T:
    changed = copy.copy(entity)
    for name in SEALED_FIELDS:
        if hasattr(changed, name):
            setattr(changed, name, convert(getattr(changed, name)))
    return changed


class SealedInstallationStore(SQLAlchemyInstallationStore):
    """The SQLAlchemy installation store with tokens sealed at rest."""

    def __init__(self, client_id: str, client_secret: str, engine: Any) -> None:
        super().__init__(client_id=client_id, engine=engine)
        self.sealer = TokenSealer(client_secret)

    def save(self, installation: Installation) -> None:
        super().save(_map_tokens(installation, self.sealer.seal))

    def save_bot(self, bot: Bot) -> None:
        super().save_bot(_map_tokens(bot, self.sealer.seal))

    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        bot = super().find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return None if bot is None else _map_tokens(bot, self.sealer.unseal)

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = super().find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        return None if found is None else _map_tokens(found, self.sealer.unseal)
