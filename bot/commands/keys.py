"""``vsm keys``: the encryption key of the OAuth installation tokens (generate, rotate).

Tokens from the OAuth install flow are stored encrypted with ``slack.encryption_key`` (env
``VSM_ENCRYPTION_KEY``): comma-separated Fernet keys, the first encrypts and all decrypt. To
rotate: ``vsm keys generate``, put the new key first (``NEW,OLD``), run ``vsm keys rotate``,
then drop the old key.
"""

from __future__ import annotations

import click
from sqlalchemy import inspect

from bot.cli_state import CliState, pass_state
from bot.slack.state.sealed_store import (
    EncryptionKeyError,
    SealedInstallationStore,
    SealError,
    TokenCipher,
)


@click.group("keys")
def command() -> None:
    """Encryption keys for the Slack tokens stored by the OAuth install flow."""


@command.command("generate")
def generate() -> None:
    """Print a new random key (for VSM_ENCRYPTION_KEY)."""
    click.echo(TokenCipher.generate())


@command.command("rotate")
@pass_state
def rotate(state: CliState) -> None:
    """Re-encrypt every stored token with the first key of VSM_ENCRYPTION_KEY."""
    slack = state.config().slack
    if slack.encryption_key is None:
        raise click.ClickException(
            "slack.encryption_key (env VSM_ENCRYPTION_KEY) is not set; give the new key first "
            "and the old ones after it, comma-separated: VSM_ENCRYPTION_KEY=NEW,OLD"
        )
    try:
        cipher = TokenCipher(slack.encryption_key.get_secret_value())
    except EncryptionKeyError as exc:
        raise click.ClickException(str(exc)) from None
    engine = state.runtime().engine
    store = SealedInstallationStore(slack.client_id or "", engine, cipher)
    tables = inspect(engine)
    if not all(tables.has_table(t.name) for t in (store.installations, store.bots)):
        click.echo("No OAuth installations are stored; nothing to re-encrypt.")
        return
    try:
        changed = store.rotate_all()
    except SealError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Re-encrypted {changed} stored token value(s) with the first key. "
        "The other keys in VSM_ENCRYPTION_KEY can now be removed."
    )
