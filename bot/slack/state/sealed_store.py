"""slack_sdk's SQLAlchemy installation store, with every token encrypted at rest (Fernet).

slack_sdk writes OAuth tokens to its tables in clear text; vsm-bot never keeps secrets in clear
text, so this store encrypts them with ``cryptography``'s Fernet (AES-128-CBC plus HMAC-SHA256)
under the keys in ``slack.encryption_key`` (env ``VSM_ENCRYPTION_KEY``): comma-separated Fernet
keys, the first encrypts and every one decrypts (:class:`~cryptography.fernet.MultiFernet`). To
rotate, put a new key first, run ``vsm keys rotate`` (every stored token is re-encrypted with
it), then drop the old key. Values stored in clear text by an older version are still read, and
``vsm keys rotate`` encrypts them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, TypeVar

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import Engine, MetaData, Table, Text, select, update

PREFIX = "fernet:"
SEALED_FIELDS = (
    "bot_token",
    "bot_refresh_token",
    "user_token",
    "user_refresh_token",
    "incoming_webhook_url",
)
HOW_TO_GENERATE = "generate one with `vsm keys generate` and export it as VSM_ENCRYPTION_KEY"
T = TypeVar("T", Bot, Installation)


class EncryptionKeyError(ValueError):
    """The encryption key setting is missing or malformed; the message says how to fix it."""


class SealError(ValueError):
    """A stored token cannot be decrypted with the configured keys."""


class TokenCipher:
    """Encrypts and decrypts short secrets with one or more Fernet keys (the first encrypts)."""

    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise EncryptionKeyError(f"slack.encryption_key is empty; {HOW_TO_GENERATE}")
        fernets = []
        for index, part in enumerate(parts, start=1):
            try:
                fernets.append(Fernet(part.encode()))
            except ValueError:
                raise EncryptionKeyError(
                    f"key {index} of slack.encryption_key (VSM_ENCRYPTION_KEY) is not a Fernet "
                    f"key (32 url-safe base64-encoded bytes); {HOW_TO_GENERATE}"
                ) from None
        self._fernet = MultiFernet(fernets)

    @staticmethod
    def generate() -> str:
        """A fresh random key."""
        return Fernet.generate_key().decode()

    def seal(self, value: str | None) -> str | None:
        """The encrypted form of ``value`` (None and already encrypted values pass through)."""
        if value is None or value.startswith(PREFIX):
            return value
        return PREFIX + self._fernet.encrypt(value.encode()).decode()

    def unseal(self, value: str | None) -> str | None:
        """The clear value of an encrypted one (values stored in clear pass through)."""
        if value is None or not value.startswith(PREFIX):
            return value
        try:
            return self._fernet.decrypt(value.removeprefix(PREFIX).encode()).decode()
        except InvalidToken:
            raise SealError(
                "a stored Slack token cannot be decrypted with VSM_ENCRYPTION_KEY: the key "
                "changed without `vsm keys rotate`. Put the old key back after the new one "
                "(comma-separated), run `vsm keys rotate`, or reinstall the app through "
                "/slack/install"
            ) from None

    def rotate(self, value: str | None) -> str | None:
        """``value`` encrypted with the first key (clear values get encrypted)."""
        if value is None:
            return None
        if not value.startswith(PREFIX):
            return self.seal(value)
        try:
            rotated = self._fernet.rotate(value.removeprefix(PREFIX).encode())
        except InvalidToken:
            raise SealError(
                "a stored Slack token cannot be decrypted with any key in VSM_ENCRYPTION_KEY; "
                "add the key it was encrypted with (after the new one) and run again"
            ) from None
        return PREFIX + rotated.decode()


def _map_tokens(entity: T, convert: Callable[[str | None], str | None]) -> T:
    changed = copy.copy(entity)
    for name in SEALED_FIELDS:
        if hasattr(changed, name):
            setattr(changed, name, convert(getattr(changed, name)))
    return changed


def _widen(table: Table) -> Table:
    """Encrypted tokens are longer than slack_sdk's 200-character columns allow."""
    for name in SEALED_FIELDS:
        if name in table.c:
            table.c[name].type = Text()
    return table


class SealedInstallationStore(SQLAlchemyInstallationStore):
    """The SQLAlchemy installation store with tokens encrypted at rest."""

    def __init__(self, client_id: str, engine: Engine, cipher: TokenCipher) -> None:
        super().__init__(client_id=client_id, engine=engine)
        self.cipher = cipher

    @classmethod
    def build_installations_table(cls, metadata: MetaData, table_name: str) -> Table:
        return _widen(super().build_installations_table(metadata, table_name))

    @classmethod
    def build_bots_table(cls, metadata: MetaData, table_name: str) -> Table:
        return _widen(super().build_bots_table(metadata, table_name))

    def save(self, installation: Installation) -> None:
        super().save(_map_tokens(installation, self.cipher.seal))

    def save_bot(self, bot: Bot) -> None:
        super().save_bot(_map_tokens(bot, self.cipher.seal))

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
        return None if bot is None else _map_tokens(bot, self.cipher.unseal)

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
        return None if found is None else _map_tokens(found, self.cipher.unseal)

    def rotate_all(self) -> int:
        """Re-encrypt every stored token with the first key; return how many values changed."""
        changed = 0
        with self.engine.begin() as conn:
            for table in (self.installations, self.bots):
                columns = [table.c[name] for name in SEALED_FIELDS if name in table.c]
                for row in conn.execute(select(table.c.id, *columns)).all():
                    values: dict[str, Any] = {}
                    for column in columns:
                        old = getattr(row, column.name)
                        new = self.cipher.rotate(old)
                        if new != old:
                            values[column.name] = new
                    if values:
                        conn.execute(update(table).where(table.c.id == row.id).values(**values))
                        changed += len(values)
        return changed
