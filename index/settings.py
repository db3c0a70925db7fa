"""Settings of the index side, read from the environment and `.env` (prefix ``ONRECORD_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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

    docs_dir: Path = Field(Path("docs"), description="Folder of source documents.")
    index_dir: Path = Field(Path(".onrecord/index"), description="Folder holding index generations.")
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
        0.31, description="Best evidence with a lower confidence (a probability that the sources cover it) abstains."
    )
    max_question_chars: int = Field(1000, ge=10, description="Longer questions are refused.")
    max_file_mb: float = Field(25.0, gt=0, description="Source files larger than this are skipped.")
    max_html_mb: float = Field(5.0, gt=0, description="Web pages larger than this are skipped.")
    max_pdf_pages: int = Field(2000, ge=1, description="PDFs with more pages are skipped.")
    max_extract_seconds: float = Field(
        60.0, gt=0, description="Reading one file may take this long; a file that takes longer is skipped."
    )
