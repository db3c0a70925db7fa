"""Settings of the index side, read from the environment and `.env` (prefix ``ONRECORD_``)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"


class IndexSettings(BaseSettings):
    """Where sources and the index live, which model embeds them, and how answers are cut."""

    model_config = SettingsConfigDict(
        env_prefix="ONRECORD_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
    )

    docs_dir: Path = Field(Path("docs"), description="Folder of the shared collection's source documents.")
    data_dir: Path = Field(
        Path(".onrecord"), description="Where collections live: <data_dir>/collections/<id>/{docs,index,state.sqlite}."
    )
    index_dir: Path = Field(
        Path(".onrecord/collections/shared/index"),
        description="Folder holding the shared collection's index generations (default: under data_dir).",
    )
    max_open_collections: int = Field(64, ge=1, description="Collections kept open at once; the least used closes.")
    collection_idle_s: float = Field(900.0, gt=0, description="A collection unused this long is closed.")
    max_sources_per_guild: int = Field(500, ge=1, description="Most source files in one server's collection.")
    max_mb_per_guild: float = Field(200.0, gt=0, description="Most megabytes of source files in a server's collection.")
    model: str = Field(
        BUNDLED_MODEL,
        description="sentence-transformers model name or local path; the default is the bundled MiniLM.",
    )
    backend: Literal["torch", "onnx"] = Field(
        "onnx", description="Run the model with torch, or with onnxruntime (exported locally on first use)."
    )
    device: str = Field("cpu", description="torch device for the embedding model.")
    threads: int = Field(1, ge=1, description="CPU threads for torch and FAISS (1 keeps queries fast under load).")
    embed_threads: int = Field(
        2, ge=1, description="onnxruntime threads for the ONNX backend; idle ones sleep instead of spinning."
    )
    batch_size: int = Field(16, ge=1, description="Texts per embedding batch.")
    chunk_tokens: int = Field(256, ge=32, description="Most model tokens in one chunk (the model's window).")
    chunk_overlap: int = Field(1, ge=0, description="Sentences repeated between neighbouring chunks.")
    max_excerpts: int = Field(3, ge=1, le=10, description="Excerpts in one answer.")
    excerpt_chars: int = Field(400, ge=80, description="Most characters in one excerpt.")
    min_score: float = Field(
        0.33, description="Best evidence with a lower confidence (a probability that the sources cover it) abstains."
    )
    log_days: float = Field(
        30.0, ge=0, description="Days each server's question log is kept (0: questions are not logged)."
    )
    feedback_days: float = Field(180.0, gt=0, description="Days members' votes and flags on answers are kept.")
    max_question_chars: int = Field(1000, ge=10, description="Longer questions are refused.")
    max_file_mb: float = Field(25.0, gt=0, description="Source files larger than this are skipped.")
    max_html_mb: float = Field(5.0, gt=0, description="Web pages larger than this are skipped.")
    max_pdf_pages: int = Field(2000, ge=1, description="PDFs with more pages are skipped.")
    max_extract_seconds: float = Field(
        60.0, gt=0, description="Reading one file may take this long; a file that takes longer is skipped."
    )
    # -- sources from the web (index/web.py, index/feeds.py) --
    user_agent: str = Field(
        "OnRecordBot/0.1 (a Discord bot that quotes its sources; respects robots.txt)",
        description="User-Agent of every web request; its first word is the name robots.txt rules are matched on.",
    )
    fetch_timeout_s: float = Field(20.0, gt=0, description="Most seconds one fetch may take, redirects included.")
    fetch_max_mb: float = Field(5.0, gt=0, description="Web pages and feeds over this (decompressed) are cut off.")
    fetch_max_redirects: int = Field(5, ge=0, le=20, description="Redirects followed for one fetch.")
    fetch_allow_networks: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="Private or loopback networks that may be fetched anyway (CIDR, e.g. 127.0.0.1/32; tests)."
    )
    feed_minutes: float = Field(60.0, gt=0, description="How often a feed is polled (each feed can override it).")
    feed_max_items: int = Field(20, ge=1, le=500, description="Newest entries of a feed that are indexed.")
    feed_max_age_days: float = Field(30.0, gt=0, description="Feed entries older than this are not fetched.")
    feed_max_backoff_minutes: float = Field(
        1440.0, gt=0, description="Longest wait before polling a failing feed again (the wait doubles per failure)."
    )

    @field_validator("fetch_allow_networks", mode="before")
    @classmethod
    def _network_list(cls, value: Any) -> Any:
        """A list in the environment: "127.0.0.1/32, ::1/128"; each must be a network."""
        if isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        for network in value:
            ipaddress.ip_network(network, strict=False)  # a ValueError names the wrong one
        return value

    @model_validator(mode="after")
    def _index_under_data_dir(self) -> IndexSettings:
        """The shared index lives under ``data_dir`` unless its folder is given."""
        if "index_dir" not in self.model_fields_set:  # (set past pydantic, so it still reads as not given)
            object.__setattr__(self, "index_dir", self.data_dir / "collections" / "shared" / "index")
        return self

    @property
    def legacy_index_dir(self) -> Path:
        """Where the index lived before collections (one library for every server)."""
        return self.data_dir / "index"
