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
RIVER = b"Volunteers stacked four thousand sandbags along the eastern bank of the Vasse river.\n"
RIVER_QUESTION = "How many sandbags did volunteers stack along the river?"


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


async def test_two_processes_split_the_shards_and_each_answers_its_own_servers(
    workdir: Seed, cwd: Path, log_errors: RecordingHandler
) -> None:
    async with DiscordStandIn(token=TOKEN, shard_count=2) as standin:
        other = standin.add_guild("b", shard=1)  # the default guild is on shard 0
        environments = []
        for shard in (0, 1):
            env = bot_env(standin, workdir, TOKEN)
            env.update(
                ONRECORD_SHARD_COUNT="2", ONRECORD_SHARD_IDS=str(shard), ONRECORD_DATA_DIR=str(workdir.data),
                ONRECORD_DISCORD_CDN_BASE=standin.cdn_base,
            )  # fmt: skip
            environments.append(env)
        bots = [await BotProcess.start(env, cwd) for env in environments]
        try:
            for bot in bots:
                await bot.wait_for_line("ready as", timeout=120)
            await standin.wait_ready(timeout=30, shards=[0, 1])
            river = standin.add_attachment("river.md", RIVER, "text/markdown", guild="b")
            added = await standin.slash("source-add", {"file": river}, user="moderator", guild="b")
            report = await added.wait_final(lambda m: "Index rebuilt" in m["content"], timeout=60)
            in_b = await (await standin.slash("ask", {"question": RIVER_QUESTION}, guild="b")).wait_final(timeout=30)
            in_a = await (await standin.slash("ask", {"question": RIVER_QUESTION})).wait_final(timeout=30)
            for bot in bots:
                bot.process.send_signal(signal.SIGTERM)
            codes = [await bot.wait() for bot in bots]
        finally:
            for bot in bots:
                bot.kill()
        identified = sorted(tuple(i["shard"]) for i in standin.identifies)

    assert identified == [(0, 2), (1, 2)]
    assert "Added 1" in report["content"]
    assert any("four thousand sandbags" in q for q in answer_quotes(in_b["embeds"][0]["description"]))
    assert not any(
        "sandbags" in q for q in answer_quotes((in_a.get("embeds") or [{"description": ""}])[0]["description"])
    )
    assert (workdir.data / "collections" / f"guild-{other.id}" / "docs" / "river.md").exists()
    assert codes == [0, 0], [bot.output for bot in bots]
    for bot in bots:
        assert not [line for line in bot.stderr if " ERROR " in line or " CRITICAL " in line], bot.output
