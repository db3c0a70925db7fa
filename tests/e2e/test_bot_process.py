"""End-to-end: the bot as a separate process through its real entry point, ``python -m bot``.

Configured only by the environment, as in production (the stand-in's addresses replace Discord's):
it logs in, syncs, answers one /ask and stops cleanly on SIGTERM. A missing or rejected
token ends it with one clear line and a non-zero exit code, and the token never appears in its output.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio

from tests.e2e.conftest import RecordingHandler, Seed, answer_quotes
from tests.e2e.discord_standin import DiscordStandIn

pytestmark = pytest.mark.asyncio

TOKEN = "MTE2.standin-" + secrets.token_urlsafe(24)


@pytest_asyncio.fixture
async def standin(log_errors: RecordingHandler) -> AsyncIterator[DiscordStandIn]:
    """A stand-in that only accepts this module's token."""
    async with DiscordStandIn(token=TOKEN) as server:
        yield server
        server.assert_clean()


def bot_env(standin: DiscordStandIn, workdir: Seed, token: str | None) -> dict[str, str]:
    """The process environment: this test's settings only, none of the developer's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONRECORD_") and k != "DISCORD_TOKEN"}
    env.update(
        ONRECORD_DISCORD_API_BASE=standin.http_base,
        ONRECORD_DISCORD_GATEWAY=standin.gateway_url,
        ONRECORD_DOCS_DIR=str(workdir.docs),
        ONRECORD_INDEX_DIR=str(workdir.index),
        HF_HUB_OFFLINE="1",
    )
    if token is not None:
        env["DISCORD_TOKEN"] = token
    return env


@dataclass
class BotProcess:
    """A running ``python -m bot`` whose output is read as it comes."""

    process: asyncio.subprocess.Process
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def start(cls, env: Mapping[str, str], cwd: Path) -> BotProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", env=dict(env), cwd=cwd,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        running = cls(process)
        assert process.stdout is not None and process.stderr is not None
        running.readers = [
            asyncio.create_task(running._read(process.stdout, running.stdout)),
            asyncio.create_task(running._read(process.stderr, running.stderr)),
        ]
        return running

    @staticmethod
    async def _read(stream: asyncio.StreamReader, into: list[str]) -> None:
        while line := await stream.readline():
            into.append(line.decode("utf-8", "replace").rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.stdout + self.stderr)

    async def wait_for_line(self, text: str, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not any(text in line for line in self.stderr):
            if self.process.returncode is not None:
                raise AssertionError(f"the bot exited ({self.process.returncode}) early:\n{self.output}")
            if loop.time() > deadline:
                raise TimeoutError(f"no line with {text!r} within {timeout}s:\n{self.output}")
            await asyncio.sleep(0.05)

    async def wait(self, timeout: float = 30) -> int:
        try:
            code = await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError(f"the bot did not exit within {timeout}s:\n{self.output}") from None
        await asyncio.gather(*self.readers)
        return code

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    """An empty working folder: no `.env`, and no `index/` folder to shadow the package."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    return folder


async def run_to_exit(env: Mapping[str, str], cwd: Path) -> tuple[int, BotProcess]:
    bot = await BotProcess.start(env, cwd)
    try:
        return await bot.wait(), bot
    finally:
        bot.kill()


async def test_process_answers_then_stops_cleanly_on_sigterm(standin: DiscordStandIn, workdir: Seed, cwd: Path) -> None:
    bot = await BotProcess.start(bot_env(standin, workdir, TOKEN), cwd)
    try:
        await bot.wait_for_line("ready as", timeout=90)
        assert {"ask", "reindex", "Find sources"} <= {c["name"] for c in standin.commands}
        interaction = await standin.slash("ask", {"question": "What do the cartels need to make fentanyl?"})
        final = await interaction.wait_final(timeout=30)
        bot.process.send_signal(signal.SIGTERM)
        code = await bot.wait()
    finally:
        bot.kill()

    assert any("precursor chemicals" in q for q in answer_quotes(final["embeds"][0]["description"]))
    assert code == 0, bot.output
    assert "Traceback" not in bot.output
    assert not [line for line in bot.stderr if " ERROR " in line or " CRITICAL " in line], bot.output
    assert TOKEN not in bot.output


async def test_missing_token_is_one_clear_line(standin: DiscordStandIn, workdir: Seed, cwd: Path) -> None:
    code, bot = await run_to_exit(bot_env(standin, workdir, None), cwd)

    assert code != 0
    assert bot.stdout == []
    [line] = bot.stderr
    assert "DISCORD_TOKEN" in line and "Traceback" not in line
    assert not standin.requests


async def test_rejected_token_is_one_clear_line(standin: DiscordStandIn, workdir: Seed, cwd: Path) -> None:
    wrong = "MTE2.wrong-" + secrets.token_urlsafe(24)

    code, bot = await run_to_exit(bot_env(standin, workdir, wrong), cwd)

    assert code != 0
    assert "Traceback" not in bot.output
    assert "token" in bot.stderr[-1].lower() and bot.stderr[-1].startswith("onrecord:"), bot.output
    assert [line for line in bot.stderr if line.startswith("onrecord:")] == [bot.stderr[-1]]
    assert wrong not in bot.output and TOKEN not in bot.output
    assert [(r.route, r.status) for r in standin.requests] == [("GET /users/@me", 401)]
