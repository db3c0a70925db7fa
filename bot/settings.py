"""Settings of the Discord side, read from the environment and `.env`."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class BotSettings(BaseSettings):
    """Token, where commands are synced, who moderates, and how often members may ask."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    discord_token: SecretStr = Field(description="The bot token from the Discord developer portal.")
    dev_guild_id: int | None = Field(
        None, validation_alias="ONRECORD_DEV_GUILD_ID", description="Sync commands to this server only (instant)."
    )
    moderator_role: str | None = Field(
        None, validation_alias="ONRECORD_MODERATOR_ROLE", description="Role name or id that may manage sources."
    )
    ask_rate: int = Field(3, ge=1, validation_alias="ONRECORD_ASK_RATE", description="Questions per member...")
    ask_per_seconds: float = Field(
        30.0, gt=0, validation_alias="ONRECORD_ASK_PER_SECONDS", description="...per this many seconds."
    )
    shard_count: int | None = Field(None, ge=1, validation_alias="ONRECORD_SHARD_COUNT")
    max_upload_mb: float = Field(10.0, gt=0, validation_alias="ONRECORD_MAX_UPLOAD_MB")
    # For a proxy or a local stand-in of Discord (the end-to-end tests use this).
    api_base: str | None = Field(None, validation_alias="ONRECORD_DISCORD_API_BASE")
    gateway_url: str | None = Field(None, validation_alias="ONRECORD_DISCORD_GATEWAY")

    @field_validator("discord_token")
    @classmethod
    def _token_present(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()
        if not token or any(ch.isspace() for ch in token):
            raise ValueError("DISCORD_TOKEN is empty or malformed")
        return SecretStr(token)
