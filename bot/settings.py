"""Settings of the Discord side, read from the environment and `.env`.

The token is ``DISCORD_TOKEN``; everything else is prefixed ``ONRECORD_`` (``ONRECORD_ASK_RATE``...).
Fields can also be given by name, e.g. ``BotSettings(discord_token=..., moderator_role=1234)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# A list of Discord ids in the environment: "1234, 5678" (or a JSON list).
Ids = Annotated[tuple[int, ...], NoDecode]


class BotSettings(BaseSettings):
    """Token, where commands are synced, who moderates, and how often members may ask."""

    model_config = SettingsConfigDict(
        env_prefix="ONRECORD_", env_file=".env", env_file_encoding="utf-8", env_ignore_empty=True, extra="ignore"
    )

    discord_token: SecretStr = Field(
        validation_alias=AliasChoices("DISCORD_TOKEN", "discord_token"),
        description="The bot token from the Discord developer portal.",
    )
    dev_guild_id: int | None = Field(None, description="Sync commands to this server only (instant).")
    moderator_role: int | None = Field(
        None, description="Id of a role that may manage its server's sources (each server can set its own)."
    )
    owner_ids: Ids = Field((), description="Users who manage the shared library, besides the application's owners.")
    allowed_guilds: Ids = Field((), description="Servers the bot answers in (empty: every server).")
    shard_ids: Ids = Field((), description="The shards this process serves, with shard_count (empty: all).")
    max_rebuilds: int = Field(1, ge=1, description="Rebuilds running at once in this process; others queue.")
    ask_rate: int = Field(3, ge=1, description="Questions per member...")
    ask_per_seconds: float = Field(30.0, gt=0, description="...per this many seconds.")
    shard_count: int | None = Field(None, ge=1)
    max_upload_mb: float = Field(10.0, gt=0)
    state_dir: Path = Field(Path(".onrecord/bot"), description="Where answers with buttons are kept.")
    answer_keep_days: float = Field(30.0, gt=0, description="Buttons of older answers say to ask again.")
    delivery_deadline_s: float = Field(
        840.0, gt=0, le=900, description="Keep retrying a reply this long after the command (tokens last 15 min)."
    )
    retry_wait_s: float = Field(1.0, gt=0, description="First wait before retrying a failed Discord call.")
    retry_wait_max_s: float = Field(30.0, gt=0, description="Longest wait between retries.")
    # For a proxy or a local stand-in of Discord (the end-to-end tests use this).
    discord_api_base: str | None = None
    discord_gateway: str | None = None
    discord_cdn_base: str | None = Field(None, description="Also download attachments from under this base.")
    attachment_hosts: tuple[str, ...] = Field(
        ("cdn.discordapp.com", "media.discordapp.net"), description="Attachments are downloaded from these hosts only."
    )

    @field_validator("owner_ids", "allowed_guilds", "shard_ids", mode="before")
    @classmethod
    def _id_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return tuple(part.strip() for part in text.split(",") if part.strip())
        return (value,) if isinstance(value, int) else value

    @field_validator("moderator_role", mode="before")
    @classmethod
    def _role_id(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip().isdigit():
            raise ValueError(
                "give the role's id (Developer Mode: right-click the role, Copy Role ID), not its name; "
                "or set it per server with /settings"
            )
        return value

    @field_validator("discord_token")
    @classmethod
    def _token_present(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()
        if not token or any(ch.isspace() for ch in token):
            raise ValueError("DISCORD_TOKEN is empty or malformed")
        return SecretStr(token)
