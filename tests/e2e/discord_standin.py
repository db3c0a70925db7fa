"""A local stand-in for Discord's HTTP API, gateway and CDN, for end-to-end tests.

The real, unmodified discord.py client logs into it over HTTP and a websocket on 127.0.0.1. A test
plays the part of the people in the server: it dispatches slash commands, context menus, autocomplete,
button clicks and messages through the gateway, and then reads what the bot sent back from the
recorded HTTP requests and the messages the stand-in keeps.

The stand-in enforces the Discord rules a bot can get wrong: the 3-second window for the first
interaction response, one response per interaction, message and embed size limits, empty messages,
follow-ups before a response, and the hidden content of messages that do not mention the bot when the
bot lacks the message-content intent. Requests to routes it does not serve are answered 404 and kept in
``unserved`` so a test can assert that nothing went unanswered.

Typical use::

    async with DiscordStandIn() as standin, running(standin, make_bot()):
        interaction = await standin.slash("ask", {"question": "What is it?"})
        message = await interaction.wait_final()

Several guilds and shards (one bot process per shard, each started with `running`)::

    async with DiscordStandIn(shard_count=2) as standin:
        other = standin.add_guild("b", shard=1)          # the default guild is on shard 0
        other.add_member(standin.app_owner)               # the application's owner, a member of b
        async with running(standin, bot_for([0])), running(standin, bot_for([1])):
            answer = await (await standin.slash("ask", {...}, user="owner", guild="b")).wait_final()
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import math
import mimetypes
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Self, TypeVar

import discord
import yarl
from aiohttp import BodyPartReader, WSMsgType, web
from aiohttp.typedefs import Handler
from discord.asset import Asset
from discord.gateway import DiscordWebSocket
from discord.http import Route

log = logging.getLogger(__name__)

Payload = dict[str, Any]
T = TypeVar("T")

API_PREFIX = "/api/v10"
CDN_PREFIX = "/cdn"
GATEWAY_PATH = "/gateway-ws"
DISCORD_EPOCH_MS = 1_420_070_400_000

# Route templates as recorded in ``Recorded.route``.
CALLBACK = "POST /interactions/{interaction_id}/{token}/callback"
FOLLOWUP = "POST /webhooks/{application_id}/{token}"
WEBHOOK_MESSAGE = "/webhooks/{application_id}/{token}/messages/{message_id}"
CHANNEL_MESSAGES = "POST /channels/{channel_id}/messages"
START_THREAD = "POST /channels/{channel_id}/messages/{message_id}/threads"
CDN_ATTACHMENT = "GET /attachments/{channel_id}/{attachment_id}/{filename}"

# What the recording middleware and the route handlers share about one request.
BODY: web.RequestKey[Any] = web.RequestKey("standin_body")
FILES: web.RequestKey[tuple[RecordedFile, ...]] = web.RequestKey("standin_files")
RESPONSE: web.RequestKey[Any] = web.RequestKey("standin_response")
UNSERVED: web.RequestKey[bool] = web.RequestKey("standin_unserved")

# Interaction types (what the user did) and callback types (how the bot answered).
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
CHANNEL_MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9
ALLOWED_CALLBACKS: dict[int, frozenset[int]] = {
    APPLICATION_COMMAND: frozenset({CHANNEL_MESSAGE, DEFERRED_MESSAGE, MODAL}),
    MESSAGE_COMPONENT: frozenset({CHANNEL_MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE, MODAL}),
    AUTOCOMPLETE: frozenset({AUTOCOMPLETE_RESULT}),
    MODAL_SUBMIT: frozenset({CHANNEL_MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE}),
}

# Message flags the stand-in reasons about.
EPHEMERAL = 1 << 6
LOADING = 1 << 7
HAS_THREAD = 1 << 5

# Gateway intents that change what the stand-in dispatches.
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15

# Discord's documented limits for messages and embeds.
MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
EMBED_FIELD_LIMITS = {"title": 256, "description": 4096}
MAX_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER = 2048
MAX_AUTHOR_NAME = 256
MAX_ROWS = 5
MAX_ROW_ITEMS = 5
MAX_CUSTOM_ID = 100
MAX_BUTTON_LABEL = 80
MAX_CHOICES = 25
MAX_THREAD_NAME = 100
IS_COMPONENTS_V2 = 1 << 15

OPTION_TYPES = {
    "subcommand": 1,
    "group": 2,
    "string": 3,
    "integer": 4,
    "boolean": 5,
    "user": 6,
    "channel": 7,
    "role": 8,
    "mentionable": 9,
    "number": 10,
    "attachment": 11,
}

EVERYONE_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    embed_links=True,
    attach_files=True,
    read_message_history=True,
    add_reactions=True,
    use_application_commands=True,
    use_external_emojis=True,
    change_nickname=True,
    create_instant_invite=True,
).value
MODERATOR_PERMISSIONS = discord.Permissions(manage_messages=True, manage_threads=True, moderate_members=True).value
ADMIN_PERMISSIONS = discord.Permissions(manage_guild=True, manage_roles=True, manage_channels=True).value
BOT_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    embed_links=True,
    attach_files=True,
    read_message_history=True,
    add_reactions=True,
    use_application_commands=True,
).value


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


class _Snowflakes:
    """Makes increasing snowflake ids whose timestamps are the current time, as Discord's do."""

    def __init__(self) -> None:
        self._last = 0

    def __call__(self) -> str:
        stamp = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(self._last + 1, stamp)
        return str(self._last)

    def on_shard(self, shard: int, shard_count: int) -> str:
        """A new id that Discord routes to ``shard`` of ``shard_count``: ``(id >> 22) % shard_count``
        is the id's millisecond timestamp modulo the count, so take the next such millisecond."""
        if not 0 <= shard < shard_count:
            raise ValueError(f"shard {shard} is not one of {shard_count} shards")
        stamp = max(int(time.time() * 1000) - DISCORD_EPOCH_MS, (self._last >> 22) + 1)
        stamp += (shard - stamp) % shard_count
        self._last = stamp << 22
        return str(self._last)


@dataclass(frozen=True)
class StandInUser:
    """A person (or the bot). ``role_ids`` are the roles it was given by the guild that made it; what
    counts in each guild is that guild's `StandInGuild.roles_of`."""

    key: str
    id: str
    username: str
    role_ids: tuple[str, ...] = ()
    bot: bool = False

    def payload(self) -> Payload:
        user: Payload = {
            "id": self.id,
            "username": self.username,
            "global_name": None if self.bot else self.username.title(),
            "discriminator": "0",
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "primary_guild": None,
        }
        if self.bot:
            user["bot"] = True
        return user


@dataclass(frozen=True)
class RecordedFile:
    """One file part of a multipart request."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Recorded:
    """One HTTP request the bot made, with the stand-in's answer.

    ``path`` is relative to the API base (``kind == "api"``) or the CDN base (``kind == "cdn"``).
    ``route`` is the matched template, e.g. ``"POST /webhooks/{application_id}/{token}"`` (empty when
    the route is not served) and ``params`` holds the template's values. ``json`` is the JSON body, or
    the parsed ``payload_json`` part of a multipart body; ``files`` holds the file parts.
    """

    method: str
    kind: Literal["api", "cdn"]
    path: str
    route: str
    params: Mapping[str, str]
    query: Mapping[str, str]
    json: Any
    files: tuple[RecordedFile, ...]
    reason: str | None
    at: float
    status: int
    response: Any


DROP = 0  # a fault "status" that closes the connection instead of answering (recorded as 499)


@dataclass
class Fault:
    """Requests to ``route`` (a template as in ``Recorded.route``, e.g. ``f"PATCH {WEBHOOK_MESSAGE}"``)
    answered ``status`` instead of being served (`DROP`: the connection is closed unanswered): the next
    ``times`` of them, or all until ``until`` (a ``time.monotonic()`` value), and only those whose JSON
    body ``when`` accepts. ``hits`` counts them.

    discord.py itself retries a 5xx on an interaction's webhook five times over 25 s before it gives
    up; a dropped connection or a 429 it passes on at once, so tests of the bot's own retries use those."""

    route: str
    status: int
    times: int | None = None
    until: float | None = None
    when: Callable[[Any], bool] | None = None
    hits: int = 0

    def applies(self, route: str, body: Any) -> bool:
        if route != self.route or (self.times is not None and self.hits >= self.times):
            return False
        if self.until is not None and time.monotonic() >= self.until:
            return False
        return self.when is None or self.when(body)


class Interaction:
    """What the stand-in knows about one interaction it dispatched, and how the bot answered it."""

    def __init__(self, standin: DiscordStandIn, payload: Payload) -> None:
        self._standin = standin
        self.payload = payload
        self.id: str = payload["id"]
        self.token: str = payload["token"]
        self.type: int = payload["type"]
        self.dispatched_at = time.monotonic()
        self.response_type: int | None = None
        self.responded_at: float | None = None
        self.original_id: str | None = None
        self.followup_ids: list[str] = []
        self.choices: list[Payload] | None = None
        self.modal: Payload | None = None
        self.target_message_id: str | None = payload.get("message", {}).get("id")
        self.guild_id: str | None = payload.get("guild_id")  # None in DMs
        self.user: Payload = payload["member"]["user"] if "member" in payload else payload["user"]
        # False when no gateway connection held the guild's shard: the bot never saw it.
        self.delivered = False

    def __repr__(self) -> str:
        delivered = "" if self.delivered else " NOT DELIVERED (no connection holds its shard)"
        return f"<Interaction id={self.id} type={self.type} response_type={self.response_type}{delivered}>"

    def _requests(self, route: str, method: str | None = None) -> list[Recorded]:
        return [
            r
            for r in self._standin.requests
            if r.route.endswith(route)
            and r.params.get("token") == self.token
            and (method is None or r.method == method)
        ]

    def callbacks(self) -> list[Recorded]:
        """The bot's POSTs to this interaction's callback, in order."""
        return self._requests(CALLBACK)

    def followups(self) -> list[Recorded]:
        """The bot's follow-up POSTs for this interaction."""
        return self._requests(FOLLOWUP)

    def edits(self) -> list[Recorded]:
        """The bot's PATCHes of this interaction's messages (the original or follow-ups)."""
        return self._requests(WEBHOOK_MESSAGE, "PATCH")

    @property
    def latency(self) -> float | None:
        """Seconds between dispatch and the first accepted callback, or None before it."""
        return None if self.responded_at is None else self.responded_at - self.dispatched_at

    def message_ids(self) -> list[str]:
        """Ids of this interaction's messages that still exist: the original, then follow-ups."""
        ids = ([self.original_id] if self.original_id else []) + self.followup_ids
        return [i for i in ids if i in self._standin.messages]

    def messages(self) -> list[Payload]:
        """Copies of this interaction's messages as the user sees them now."""
        return [copy.deepcopy(self._standin.messages[i]) for i in self.message_ids()]

    def _latest(self) -> Payload | None:
        ids = self.message_ids()
        if not ids:
            return None
        latest = max(ids, key=lambda i: self._standin._touched[i])
        return self._standin.messages[latest]

    def final_message(self) -> Payload:
        """A copy of the message of this interaction that changed last (the original after its
        latest edit, or the newest follow-up)."""
        latest = self._latest()
        if latest is None:
            raise LookupError(f"{self!r} has no message; callbacks: {self.callbacks()}")
        return copy.deepcopy(latest)

    async def wait_response(self, timeout: float = 15) -> Recorded:
        """Wait for the bot's first callback request and return it."""
        return await self._standin._wait_until(
            lambda: next(iter(self.callbacks()), None), timeout, f"a callback for {self!r}"
        )

    async def wait_final(self, predicate: Callable[[Payload], bool] | None = None, timeout: float = 15) -> Payload:
        """Wait until the user sees a finished message for this interaction and return a copy.

        "Finished" means no longer loading and showing content, embeds, components or attachments;
        ``predicate`` narrows it further (e.g. ``lambda m: "Sources" in m["content"]``).
        """

        def check() -> Payload | None:
            self._fail_if_rejected()
            latest = self._latest()
            if latest is None or latest.get("flags", 0) & LOADING or not _is_visible(latest):
                return None
            if predicate is not None and not predicate(latest):
                return None
            return copy.deepcopy(latest)

        return await self._standin._wait_until(check, timeout, f"a final message for {self!r}")

    async def wait_choices(self, timeout: float = 15) -> list[Payload]:
        """Wait for the bot's autocomplete answer and return its choices."""

        def check() -> list[Payload] | None:
            self._fail_if_rejected()
            return self.choices

        return await self._standin._wait_until(check, timeout, f"choices for {self!r}")

    def _fail_if_rejected(self) -> None:
        """Fail at once, rather than at the timeout, when the stand-in refused the bot's only answer."""
        refused = [r for r in self.callbacks() if r.status >= 400]
        if refused and self.response_type is None:
            raise AssertionError(f"the stand-in refused the response to {self!r}: {refused[-1].response}")


def _is_visible(message: Payload) -> bool:
    return any(message.get(key) for key in ("content", "embeds", "components", "attachments", "poll"))


def _error_tree(path: Sequence[str | int], code: str, message: str) -> Payload:
    """Discord's nested form-error shape: {"content": {"_errors": [{"code": ..., "message": ...}]}}."""
    tree: Payload = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        tree = {str(key): tree}
    return tree


def _merge(into: Payload, tree: Payload) -> None:
    for key, value in tree.items():
        if key in into and isinstance(into[key], dict) and isinstance(value, dict) and key != "_errors":
            _merge(into[key], value)
        elif key == "_errors" and key in into:
            into[key].extend(value)
        else:
            into[key] = value


def _too_long(limit: int) -> tuple[str, str]:
    return "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."


def _embed_errors(embeds: Sequence[Payload], prefix: tuple[str | int, ...]) -> list[Payload]:
    errors: list[Payload] = []

    def add(path: tuple[str | int, ...], problem: tuple[str, str]) -> None:
        errors.append(_error_tree(prefix + path, *problem))

    if len(embeds) > MAX_EMBEDS:
        add(("embeds",), _too_long(MAX_EMBEDS))
    total = 0
    for index, embed in enumerate(embeds):
        where: tuple[str | int, ...] = ("embeds", index)
        for key, limit in EMBED_FIELD_LIMITS.items():
            text = embed.get(key) or ""
            total += len(text)
            if len(text) > limit:
                add((*where, key), _too_long(limit))
        fields = embed.get("fields") or []
        if len(fields) > MAX_FIELDS:
            add((*where, "fields"), _too_long(MAX_FIELDS))
        for number, item in enumerate(fields):
            for key, limit in (("name", MAX_FIELD_NAME), ("value", MAX_FIELD_VALUE)):
                text = item.get(key) or ""
                total += len(text)
                if not text:
                    add((*where, "fields", number, key), ("BASE_TYPE_REQUIRED", "This field is required"))
                elif len(text) > limit:
                    add((*where, "fields", number, key), _too_long(limit))
        footer = (embed.get("footer") or {}).get("text") or ""
        author = (embed.get("author") or {}).get("name") or ""
        total += len(footer) + len(author)
        if len(footer) > MAX_FOOTER:
            add((*where, "footer", "text"), _too_long(MAX_FOOTER))
        if len(author) > MAX_AUTHOR_NAME:
            add((*where, "author", "name"), _too_long(MAX_AUTHOR_NAME))
    if total > MAX_EMBED_TOTAL:
        add(("embeds",), ("MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}"))
    return errors


def _walk_components(components: Sequence[Payload]) -> Iterator[Payload]:
    for component in components:
        yield component
        yield from _walk_components(component.get("components") or [])
        for key in ("component", "accessory"):
            if isinstance(component.get(key), dict):
                yield from _walk_components([component[key]])


def _component_errors(body: Payload, prefix: tuple[str | int, ...]) -> list[Payload]:
    components: list[Payload] = body.get("components") or []
    errors: list[Payload] = []
    if not (body.get("flags") or 0) & IS_COMPONENTS_V2:
        if len(components) > MAX_ROWS:
            errors.append(_error_tree((*prefix, "components"), *_too_long(MAX_ROWS)))
        for index, row in enumerate(components):
            if len(row.get("components") or []) > MAX_ROW_ITEMS:
                errors.append(_error_tree((*prefix, "components", index, "components"), *_too_long(MAX_ROW_ITEMS)))
    seen: set[str] = set()
    for component in _walk_components(components):
        custom_id = component.get("custom_id")
        if custom_id is not None:
            if len(custom_id) > MAX_CUSTOM_ID:
                errors.append(_error_tree((*prefix, "components", "custom_id"), *_too_long(MAX_CUSTOM_ID)))
            if custom_id in seen:
                errors.append(
                    _error_tree(
                        (*prefix, "components"),
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        "Component custom id cannot be duplicated",
                    )
                )
            seen.add(custom_id)
        if component.get("type") == 2 and len(component.get("label") or "") > MAX_BUTTON_LABEL:
            errors.append(_error_tree((*prefix, "components", "label"), *_too_long(MAX_BUTTON_LABEL)))
    return errors


def message_errors(body: Payload, *, prefix: tuple[str | int, ...] = (), creating: bool) -> Payload | None:
    """The error Discord would answer for this message body, or None when Discord would accept it."""
    problems: list[Payload] = []
    content = body.get("content")
    if isinstance(content, str) and len(content) > MAX_CONTENT:
        problems.append(_error_tree((*prefix, "content"), *_too_long(MAX_CONTENT)))
    problems += _embed_errors(body.get("embeds") or [], prefix)
    problems += _component_errors(body, prefix)
    if problems:
        errors: Payload = {}
        for problem in problems:
            _merge(errors, problem)
        return {"message": "Invalid Form Body", "code": 50035, "errors": errors}
    if creating and not _is_visible(body) and not body.get("sticker_ids"):
        return {"message": "Cannot send an empty message", "code": 50006}
    return None


class _Gateway:
    """One websocket connection from the bot: one shard of one bot process."""

    def __init__(self, socket: web.WebSocketResponse) -> None:
        self.socket = socket
        self.sequence = 0
        self.intents = 0
        self.identified = False
        self.ready = False  # sent READY and its guilds (or RESUMED)
        self.shard_id = 0
        self.shard_count = 1
        self.session_id = ""

    def holds(self, guild: StandInGuild | None) -> bool:
        """Whether Discord sends this connection the events of ``guild`` (None: DMs, on shard 0)."""
        if not self.identified:
            return False
        if guild is None:
            return self.shard_id == 0
        return guild.shard_of(self.shard_count) == self.shard_id

    async def send(self, payload: Payload) -> None:
        await self.socket.send_str(json.dumps(payload))

    async def dispatch(self, event: str, data: Payload) -> None:
        self.sequence += 1
        await self.send({"op": 0, "t": event, "s": self.sequence, "d": data})


DM = "@dm"  # the ``guild`` of an interaction or message in the bot's DMs, not in any guild


class StandInGuild:
    """One guild (server) of the stand-in, with its own text channel, roles and members.

    Roles are named as in every stand-in guild: @everyone, Moderator (no Manage Server), Admin (Manage
    Server) and the bot's managed role. ``users`` maps keys to the people who are members here, each
    with roles of this guild (`roles_of`): by default ``member``, ``moderator`` (Moderator and Admin),
    ``rolemod`` (Moderator only) and ``owner`` (the guild owner), distinct people in each guild.
    `add_member` makes a person of another guild (or `DiscordStandIn.app_owner`) a member here too.
    """

    def __init__(self, standin: DiscordStandIn, key: str, guild_id: str, name: str, username_suffix: str) -> None:
        ids = standin._ids
        self._standin = standin
        self.key = key
        self.id = guild_id
        self.name = name
        self._username_suffix = username_suffix
        self.everyone_role_id = guild_id
        self.moderator_role_id = ids()
        self.admin_role_id = ids()
        self.bot_role_id = ids()
        self.channel_id = ids()
        self.joined_at = _now_iso()
        self.roles: list[Payload] = [
            _role(self.everyone_role_id, "@everyone", EVERYONE_PERMISSIONS, 0),
            _role(self.moderator_role_id, "Moderator", MODERATOR_PERMISSIONS, 1),
            _role(self.admin_role_id, "Admin", ADMIN_PERMISSIONS, 2),
            {
                **_role(self.bot_role_id, "OnRecord", BOT_PERMISSIONS, 3),
                "managed": True,
                "tags": {"bot_id": standin.bot_user_id},
            },
        ]
        standin.channels[self.channel_id] = self._text_channel(self.channel_id, "general", 0)
        self.users: dict[str, StandInUser] = {}
        self._member_roles: dict[str, tuple[str, ...]] = {standin.bot_user_id: (self.bot_role_id,)}
        self.add_user("member")
        self.add_user("moderator", roles=(self.moderator_role_id, self.admin_role_id))
        self.add_user("rolemod", roles=(self.moderator_role_id,))
        self.add_user("owner")
        self.owner_id = self.users["owner"].id

    def __repr__(self) -> str:
        return f"<StandInGuild {self.key!r} id={self.id}>"

    @property
    def shard(self) -> int:
        """The shard Discord routes this guild to, for the stand-in's ``shard_count``."""
        return self.shard_of(self._standin.shard_count)

    def shard_of(self, shard_count: int) -> int:
        return (int(self.id) >> 22) % shard_count

    @property
    def channels(self) -> dict[str, Payload]:
        """This guild's channels (not threads) by id."""
        return {k: c for k, c in self._standin.channels.items() if c.get("guild_id") == self.id}

    @property
    def threads(self) -> dict[str, Payload]:
        return {k: t for k, t in self._standin.threads.items() if t["guild_id"] == self.id}

    def add_user(self, key: str, *, roles: Sequence[str] = (), username: str | None = None) -> StandInUser:
        """Add a new person, a member of this guild with ``roles`` (role ids of this guild)."""
        user = self._standin._new_person(key, username or f"{key}{self._username_suffix}-user", roles)
        return self.add_member(user, roles=roles)

    def add_member(self, user: StandInUser, *, roles: Sequence[str] = (), key: str | None = None) -> StandInUser:
        """Make an existing person a member of this guild too, known here as ``key`` (default
        ``user.key``), with ``roles`` of this guild."""
        unknown = set(roles) - {r["id"] for r in self.roles}
        if unknown:
            raise ValueError(f"roles {sorted(unknown)} are not roles of {self!r}")
        self.users[key or user.key] = user
        self._member_roles[user.id] = tuple(roles)
        self._standin.people.setdefault(user.id, user)
        return user

    def user(self, key: str) -> StandInUser:
        try:
            return self.users[key]
        except KeyError:
            raise KeyError(f"no user {key!r} in {self!r}; known: {sorted(self.users)}") from None

    def person(self, user: str | StandInUser) -> StandInUser:
        """A member of this guild, by key or as a `StandInUser` (who must be a member)."""
        if isinstance(user, str):
            return self._standin.bot_user if user == "bot" else self.user(user)
        if not self.is_member(user):
            raise ValueError(f"{user.key!r} ({user.id}) is not a member of {self!r}")
        return user

    def is_member(self, user: StandInUser) -> bool:
        return user.id in self._member_roles

    def roles_of(self, user: StandInUser) -> tuple[str, ...]:
        """The ids of the roles ``user`` has in this guild (besides @everyone)."""
        return self._member_roles[user.id]

    def people(self) -> list[StandInUser]:
        """Every member, the bot first, each once."""
        return [self._standin.people[user_id] for user_id in self._member_roles]

    def permissions_of(self, user: str | StandInUser) -> int:
        """The permission bits of a member in this guild's text channel (there are no overwrites)."""
        person = self.person(user)
        if person.id == self.owner_id:
            return discord.Permissions.all().value
        value = 0
        held = self.roles_of(person)
        for role in self.roles:
            if role["id"] == self.everyone_role_id or role["id"] in held:
                value |= int(role["permissions"])
        if value & discord.Permissions(administrator=True).value:
            return discord.Permissions.all().value
        return value

    def member_payload(self, user: StandInUser, *, with_user: bool = True) -> Payload:
        member: Payload = {
            "roles": list(self.roles_of(user)),
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "nick": None,
            "avatar": None,
            "banner": None,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            member["user"] = user.payload()
        return member

    def _text_channel(self, channel_id: str, name: str, position: int) -> Payload:
        return {
            "id": channel_id,
            "type": 0,
            "guild_id": self.id,
            "name": name,
            "position": position,
            "permission_overwrites": [],
            "topic": None,
            "nsfw": False,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "parent_id": None,
            "default_auto_archive_duration": 1440,
            "flags": 0,
        }

    def payload(self) -> Payload:
        """The full guild as sent in GUILD_CREATE."""
        people = self.people()
        return {
            "id": self.id,
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": self.owner_id,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "system_channel_id": self.channel_id,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "features": [],
            "roles": self.roles,
            "emojis": [],
            "stickers": [],
            "joined_at": self.joined_at,
            "large": False,
            "unavailable": False,
            "lazy": True,
            "member_count": len(people),
            "members": [self.member_payload(u) for u in people],
            "channels": list(self.channels.values()),
            "threads": list(self.threads.values()),
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "max_members": 500000,
            "max_video_channel_users": 25,
            "application_id": None,
            "application_command_counts": {},
        }


def _role(role_id: str, name: str, permissions: int, position: int) -> Payload:
    return {
        "id": role_id,
        "name": name,
        "permissions": str(permissions),
        "position": position,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }


class DiscordStandIn:
    """An aiohttp server that answers discord.py bots the way Discord would, for one or more guilds.

    The default guild, ``guilds["main"]`` (also ``guild``), has a text channel (``channel_id``), the
    roles @everyone, Moderator (no Manage Server) and Admin (Manage Server), and these users, keyed by
    name in ``users``: ``member`` (no extra roles), ``moderator`` (Moderator and Admin, so Manage
    Server), ``rolemod`` (Moderator only) and ``owner`` (the guild owner). `add_guild` adds more guilds
    of the same shape, with people of their own. Ids are snowflake strings, as in Discord's JSON.

    The application's owner is ``app_owner``, a member of no guild until a test makes it one
    (``standin.guild.add_member(standin.app_owner)``); ``team_member_ids`` (and
    ``team_read_only_ids``) make the application team-owned, as discord.py's ``is_owner`` reads it.

    Shards: ``shard_count`` (settable until the bots connect; the default guild is on shard 0 for
    any count dividing 48) is what GET /gateway/bot recommends, and the fewest shards a bot may
    IDENTIFY with (fewer: closed with 4011, an impossible shard: 4010). Each connection is one shard;
    it is sent READY and GUILD_CREATE for the guilds of that shard only (``(guild_id >> 22) % count``),
    and every event about a guild goes to the connections holding its shard (DMs: shard 0). An
    interaction no connection holds is not delivered (``Interaction.delivered``), as on Discord; with
    no connection at all, making one raises RuntimeError (the test forgot to start the bot).
    `drop_connection` closes a shard's connection as a gateway restart does (the bot RESUMEs).

    What a test reads: ``requests`` (every HTTP request, in order), ``unserved`` (those to routes the
    stand-in does not serve), ``faults`` (stand-in bugs), ``commands`` (the last synced command list;
    ``command_sets`` has each scope, None for global), ``messages`` (every message by id, as it is now),
    ``threads``, ``interactions`` (by id), ``identifies`` (every IDENTIFY, token redacted) and
    ``identify`` (the latest).
    What a test may set: ``interaction_deadline`` (seconds for the first response, 3 as on Discord),
    ``attachment_size_limit``, ``fail_next_cdn`` (how many coming CDN downloads answer 503) and
    ``token_lifetime`` (seconds an interaction's token works for follow-ups and edits; 15 minutes on
    Discord; after it they answer 401 Invalid Webhook Token). Faults are injected with `fail`
    (answer a route with an error status: a number of times, for a while, or for some bodies).
    Close the bot before the stand-in: a bot whose gateway closes under it reconnects.
    """

    def __init__(
        self, *, token: str = "standin.bot.token", heartbeat_interval_ms: int = 41_250, shard_count: int = 1
    ) -> None:
        self.token = token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.shard_count = shard_count
        self.interaction_deadline = 3.0
        self.attachment_size_limit = 10 * 1024 * 1024
        self.fail_next_cdn = 0
        self.token_lifetime = 15 * 60.0
        self.fault_list: list[Fault] = []
        self.cdn_bytes_sent = 0
        self._cdn_redirects: dict[str, str] = {}
        self._cdn_streams: dict[str, int] = {}
        self._ids = _Snowflakes()
        self.application_id = self._ids()
        self.bot_user_id = self.application_id
        self.people: dict[str, StandInUser] = {}
        self.channels: dict[str, Payload] = {}
        self.threads: dict[str, Payload] = {}
        self.guilds: dict[str, StandInGuild] = {}
        # On shard 0 for any shard_count dividing 48 too, so a test may set shard_count later.
        main_id = self._ids.on_shard(0, math.lcm(48, shard_count))
        main = StandInGuild(self, "main", main_id, "OnRecord Test Server", "")
        self.guilds["main"] = main
        self.guild = main
        self.bot_user = StandInUser("bot", self.bot_user_id, "onrecord-test", (main.bot_role_id,), bot=True)
        self.people[self.bot_user_id] = self.bot_user
        self.guild_id = main.id
        self.everyone_role_id = main.everyone_role_id
        self.moderator_role_id = main.moderator_role_id
        self.admin_role_id = main.admin_role_id
        self.bot_role_id = main.bot_role_id
        self.channel_id = main.channel_id
        self.joined_at = main.joined_at
        self.users = main.users
        self.roles = main.roles
        self.app_owner = self._new_person("app_owner", "app-owner-user", ())
        self.team_member_ids: list[str] = []
        self.team_read_only_ids: list[str] = []
        self.team_id = self._ids()
        self.messages: dict[str, Payload] = {}
        self.command_sets: dict[str | None, list[Payload]] = {}
        self.commands: list[Payload] = []
        self.requests: list[Recorded] = []
        self.unserved: list[Recorded] = []
        self.faults: list[str] = []
        self.identifies: list[Payload] = []
        self.identify: Payload | None = None
        self.presence: Payload | None = None
        self.interactions: dict[str, Interaction] = {}
        self._touched: dict[str, int] = {}
        self._touch_counter = 0
        self._attachments: dict[str, tuple[bytes, str]] = {}
        self._gateways: dict[tuple[int, int], _Gateway] = {}
        self._sessions: dict[str, tuple[int, int, int]] = {}
        self._dm_channels: dict[str, str] = {}
        self._sockets: set[web.WebSocketResponse] = set()
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._exit: contextlib.ExitStack | None = None
        self.port = 0

    # ----------------------------------------------------------------------------------- lifecycle

    @property
    def http_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{GATEWAY_PATH}"

    @property
    def cdn_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{CDN_PREFIX}"

    async def start(self) -> None:
        """Serve on 127.0.0.1 on a free port."""
        app = web.Application(middlewares=[self._record], client_max_size=64 * 1024 * 1024)
        self._add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        log.debug("Discord stand-in serving on port %d", self.port)

    async def close(self) -> None:
        """Close open gateway connections and stop serving."""
        for socket in list(self._sockets):
            await socket.close(code=1000)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @contextlib.contextmanager
    def patch(self) -> Iterator[Self]:
        """Point discord.py's API base, gateway and CDN at the stand-in; restore them on exit."""
        saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY, Asset.BASE)
        Route.BASE = self.http_base
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        Asset.BASE = self.cdn_base
        try:
            yield self
        finally:
            Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY, Asset.BASE = saved

    async def __aenter__(self) -> Self:
        await self.start()
        self._exit = contextlib.ExitStack()
        self._exit.enter_context(self.patch())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._exit is not None:
            self._exit.close()
            self._exit = None
        await self.close()

    async def wait_ready(self, timeout: float = 10, *, shards: Sequence[int] | None = None) -> None:
        """Wait until bots have identified on ``shards`` (default: every shard of ``shard_count``) and
        each of those connections has been sent READY and its guilds."""
        wanted = set(range(self.shard_count) if shards is None else shards)

        def ready() -> bool | None:
            return wanted <= {g.shard_id for g in self._gateways.values() if g.ready} or None

        try:
            await self._wait_until(ready, timeout, f"shards {sorted(wanted)}")
        except TimeoutError:
            held = sorted(self._gateways)
            raise TimeoutError(
                f"the bot did not identify on shards {sorted(wanted)} within {timeout}s (connected: {held}); "
                f"{self._summary()}"
            ) from None

    async def wait_for(self, predicate: Callable[[Recorded], bool], timeout: float = 10) -> Recorded:
        """Return the first recorded request (already made or still to come) that matches."""
        return await self._wait_until(
            lambda: next((r for r in self.requests if predicate(r)), None), timeout, "a matching request"
        )

    def assert_clean(self) -> None:
        """Fail when a request went to a route the stand-in does not serve, or the stand-in broke."""
        assert not self.unserved, f"unserved requests: {[f'{r.method} {r.path}' for r in self.unserved]}"
        assert not self.faults, f"stand-in faults: {self.faults}"

    async def drop_connection(self, shard: int = 0, *, code: int = 4000) -> None:
        """Close the gateway connection holding ``shard`` with ``code``, as Discord does when a
        gateway node goes away (4000: discord.py reconnects and RESUMEs the session)."""
        held = [g for (shard_id, _), g in self._gateways.items() if shard_id == shard]
        if not held:
            raise LookupError(f"no connection holds shard {shard}; connected: {self.connected_shards()}")
        for gateway in held:
            gateway.ready = False
            await gateway.socket.close(code=code, message=b"Dropped by the stand-in.")

    def connected_shards(self) -> list[tuple[int, int]]:
        """The ``(shard_id, shard_count)`` of every identified gateway connection, sorted."""
        return sorted(k for k, g in self._gateways.items() if g.identified)

    def errors(self) -> list[Recorded]:
        """Recorded requests that were answered with an error status."""
        return [r for r in self.requests if r.status >= 400]

    # ---------------------------------------------------------------------------------- the guilds

    def add_guild(self, key: str, *, shard: int | None = None, name: str | None = None) -> StandInGuild:
        """Add a guild the bot is in (before the bot connects), with its own channel, roles and people.

        ``shard``: give it an id Discord routes to that shard of the current ``shard_count``."""
        if key in self.guilds or key.startswith("@"):
            raise ValueError(f"guild key {key!r} is taken or reserved; known: {sorted(self.guilds)}")
        guild_id = self._ids() if shard is None else self._ids.on_shard(shard, self.shard_count)
        guild = StandInGuild(self, key, guild_id, name or f"OnRecord Test Server {key}", f"-{key}")
        self.guilds[key] = guild
        return guild

    def guild_of(self, key: str | None) -> StandInGuild:
        """The guild with this key (None: the default guild)."""
        if key is None:
            return self.guild
        try:
            return self.guilds[key]
        except KeyError:
            raise KeyError(f"no guild {key!r}; known: {sorted(self.guilds)}") from None

    def guild_by_id(self, guild_id: str | int | None) -> StandInGuild | None:
        return next((g for g in self.guilds.values() if g.id == str(guild_id)), None)

    def add_user(
        self, key: str, *, roles: Sequence[str] = (), username: str | None = None, guild: str | None = None
    ) -> StandInUser:
        """Add a person to a guild (default: the default guild), before the bot connects or only for
        interactions."""
        return self.guild_of(guild).add_user(key, roles=roles, username=username)

    def user(self, key: str, guild: str | None = None) -> StandInUser:
        return self.guild_of(guild).user(key)

    def permissions_of(self, key: str | StandInUser, guild: str | None = None) -> int:
        """The permission bits of a member in a guild's text channel (there are no overwrites)."""
        return self.guild_of(guild).permissions_of(key)

    def guild_payload(self, guild: str | None = None) -> Payload:
        """The full guild as sent in GUILD_CREATE."""
        return self.guild_of(guild).payload()

    def _new_person(self, key: str, username: str, roles: Sequence[str]) -> StandInUser:
        user = StandInUser(key, self._ids(), username, tuple(roles))
        self.people[user.id] = user
        return user

    def _member(self, user: StandInUser, guild: StandInGuild, *, with_user: bool = True) -> Payload:
        return guild.member_payload(user, with_user=with_user)

    def _channel(self, channel_id: str) -> Payload | None:
        return self.channels.get(channel_id) or self.threads.get(channel_id)

    def _dm_channel(self, user: StandInUser) -> Payload:
        """The bot's DM channel with ``user``, opened on first use."""
        channel_id = self._dm_channels.get(user.id)
        if channel_id is None:
            channel_id = self._dm_channels[user.id] = self._ids()
            self.channels[channel_id] = {
                "id": channel_id,
                "type": 1,
                "last_message_id": None,
                "flags": 0,
                "recipients": [user.payload()],
            }
        return self.channels[channel_id]

    def _place(
        self, guild: str | None, user: str | StandInUser, channel_id: str | int | None = None
    ) -> tuple[StandInGuild | None, StandInUser, Payload]:
        """Where a person acts: their guild (None in DMs), who they are, and the channel."""
        channel = None
        if channel_id is not None:
            channel = self._channel(str(channel_id))
            if channel is None:
                raise ValueError(f"unknown channel {channel_id}; known: {[*self.channels, *self.threads]}")
            in_guild = self.guild_by_id(channel.get("guild_id"))
            if guild is not None and (in_guild.key if in_guild else DM) != guild:
                raise ValueError(f"channel {channel_id} is not in guild {guild!r}")
            guild = in_guild.key if in_guild else DM
        if guild == DM:
            person = user if isinstance(user, StandInUser) else self._dm_person(user)
            return None, person, channel or self._dm_channel(person)
        place = self.guild_of(guild)
        return place, place.person(user), channel or self.channels[place.channel_id]

    def _dm_person(self, key: str) -> StandInUser:
        if key == self.app_owner.key:
            return self.app_owner
        return self.guild.user(key)

    def _guild_of_channel(self, channel_id: str) -> StandInGuild | None:
        channel = self._channel(channel_id)
        return None if channel is None else self.guild_by_id(channel.get("guild_id"))

    def messages_in(self, channel_id: str | int, *, include_ephemeral: bool = False) -> list[Payload]:
        """Copies of the messages the bot created in a channel or thread, oldest first."""
        return [
            copy.deepcopy(m)
            for m in self.messages.values()
            if m["channel_id"] == str(channel_id)
            and m["author"]["id"] == self.bot_user_id
            and (include_ephemeral or not m.get("flags", 0) & EPHEMERAL)
        ]

    # ------------------------------------------------------------------------------- the people

    async def post_message(
        self,
        content: str,
        *,
        user: str | StandInUser = "member",
        mention_bot: bool = True,
        channel_id: str | int | None = None,
        attachments: Sequence[Payload] = (),
        guild: str | None = None,
    ) -> Payload:
        """Have a person post a message; dispatches MESSAGE_CREATE and returns the full message.

        ``guild`` (a key, or `DM` for the person's DM with the bot) picks the channel when
        ``channel_id`` is None (default: the default guild's channel); a ``channel_id`` implies its guild.
        With ``mention_bot`` the bot is in ``mentions`` and the content starts with its mention unless
        the content already holds it. Like Discord, the dispatched copy has no content, embeds or
        attachments when the bot lacks the message-content intent and is not mentioned (DMs excepted).
        """
        place, author, channel = self._place(guild, user, channel_id)
        mention = f"<@{self.bot_user_id}>"
        if mention_bot and mention not in content:
            content = f"{mention} {content}"
        mentioned = self.bot_user.payload()
        if place is not None:
            mentioned["member"] = self._member(self.bot_user, place, with_user=False)
        message = self._new_message(
            channel["id"],
            author,
            {"content": content, "attachments": list(attachments)},
            mentions=[mentioned] if mention_bot else [],
        )
        self._store(message)
        needed = INTENT_GUILD_MESSAGES if place is not None else INTENT_DIRECT_MESSAGES
        for gateway in self._gateways_for(place):
            if gateway.intents & needed:
                dispatched = self._for_gateway(message, author)
                if place is not None and not gateway.intents & INTENT_MESSAGE_CONTENT and not mention_bot:
                    dispatched.update(content="", embeds=[], attachments=[], components=[])
                await gateway.dispatch("MESSAGE_CREATE", dispatched)
        return copy.deepcopy(message)

    async def slash(
        self,
        name: str,
        options: Mapping[str, Any] | Sequence[Payload] | None = None,
        *,
        user: str | StandInUser = "member",
        channel_id: str | int | None = None,
        resolved: Payload | None = None,
        guild: str | None = None,
    ) -> Interaction:
        """Have a person run a synced slash command, in ``guild`` (a key; None: the default guild, or
        the guild of ``channel_id``; `DM`: in their DM with the bot).

        ``options`` maps option names to values: str, int, float, bool, an attachment from
        ``add_attachment`` or, for user options, a user key. A list is sent as the raw option list
        (for subcommands); ``resolved`` is merged into ``data.resolved``.
        """
        place, person, channel = self._place(guild, user, channel_id)
        command, scope = self._find_command(name, 1, place)
        built_resolved: Payload = {}
        if isinstance(options, Mapping):
            built = self._build_options(command, options, built_resolved, place)
        else:
            built = list(options or [])
        for key, values in (resolved or {}).items():
            built_resolved.setdefault(key, {}).update(values)
        data: Payload = {"id": command["id"], "name": name, "type": 1, "options": built}
        if built_resolved:
            data["resolved"] = built_resolved
        if scope is not None:
            data["guild_id"] = scope
        return await self._interact(APPLICATION_COMMAND, data, person, place, channel)

    async def autocomplete(
        self,
        name: str,
        options: Mapping[str, Any] | None,
        focused: str,
        *,
        user: str | StandInUser = "member",
        channel_id: str | int | None = None,
        guild: str | None = None,
    ) -> Interaction:
        """Have a person type into option ``focused`` of a slash command; the bot answers with choices."""
        place, person, channel = self._place(guild, user, channel_id)
        command, scope = self._find_command(name, 1, place)
        values = dict(options or {})
        values.setdefault(focused, "")
        built = []
        for option_name, value in values.items():
            spec = self._option_spec(command, option_name)
            option: Payload = {"name": option_name, "type": spec["type"], "value": value}
            if option_name == focused:
                option["focused"] = True
            built.append(option)
        data: Payload = {"id": command["id"], "name": name, "type": 1, "options": built}
        if scope is not None:
            data["guild_id"] = scope
        return await self._interact(AUTOCOMPLETE, data, person, place, channel)

    async def context_menu(
        self, name: str, message: Payload, *, user: str | StandInUser = "member", guild: str | None = None
    ) -> Interaction:
        """Have a person run a message context-menu command on ``message`` (in the message's guild;
        ``guild``, when given, must be it)."""
        target = copy.deepcopy(self.messages.get(message["id"], message))
        place, person, channel = self._place(guild, user, target["channel_id"])
        command, scope = self._find_command(name, 3, place)
        data: Payload = {
            "id": command["id"],
            "name": name,
            "type": 3,
            "target_id": target["id"],
            "resolved": {"messages": {target["id"]: target}},
        }
        if scope is not None:
            data["guild_id"] = scope
        return await self._interact(APPLICATION_COMMAND, data, person, place, channel)

    async def click(
        self,
        message: Payload,
        custom_id: str,
        *,
        user: str | StandInUser = "member",
        values: Sequence[str] | None = None,
        guild: str | None = None,
    ) -> Interaction:
        """Have a person click a button (or pick ``values`` in a select menu) on a bot message (in the
        message's guild; ``guild``, when given, must be it)."""
        current = copy.deepcopy(self.messages.get(message["id"], message))
        component = next(
            (c for c in _walk_components(current.get("components") or []) if c.get("custom_id") == custom_id),
            None,
        )
        if component is None:
            known = [c.get("custom_id") for c in _walk_components(current.get("components") or [])]
            raise LookupError(f"message {current['id']} has no component {custom_id!r}; it has {known}")
        data: Payload = {"custom_id": custom_id, "component_type": component["type"]}
        if values is not None:
            data["values"] = list(values)
        place, person, channel = self._place(guild, user, current["channel_id"])
        return await self._interact(MESSAGE_COMPONENT, data, person, place, channel, message=current)

    async def submit_modal(
        self,
        shown_by: Interaction,
        values: Mapping[str, str | Sequence[str]],
        *,
        user: str | StandInUser = "member",
        guild: str | None = None,
    ) -> Interaction:
        """Have a person submit the modal the bot showed in answer to ``shown_by`` (in its guild)."""
        if shown_by.modal is None:
            raise LookupError(f"{shown_by!r} was not answered with a modal")

        def fill(components: Sequence[Payload]) -> list[Payload]:
            filled = []
            for component in components:
                if component.get("type") == 1:
                    filled.append({"type": 1, "components": fill(component.get("components") or [])})
                elif component.get("type") == 18:
                    filled.append({"type": 18, "component": fill([component["component"]])[0]})
                elif "custom_id" in component:
                    value = values.get(component["custom_id"], "")
                    key = "value" if isinstance(value, str) else "values"
                    filled.append({"type": component["type"], "custom_id": component["custom_id"], key: value})
            return filled

        data = {"custom_id": shown_by.modal["custom_id"], "components": fill(shown_by.modal["components"])}
        place, person, channel = self._place(guild, user, shown_by.payload["channel_id"])
        message = shown_by.payload.get("message")
        return await self._interact(MODAL_SUBMIT, data, person, place, channel, message=message)

    def fail(
        self,
        route: str,
        status: int = 503,
        *,
        times: int | None = None,
        seconds: float | None = None,
        when: Callable[[Any], bool] | None = None,
    ) -> Fault:
        """Answer requests to ``route`` with ``status``: the next ``times``, or all for ``seconds``
        (both None: until the test ends), only those whose JSON body ``when`` accepts."""
        until = None if seconds is None else time.monotonic() + seconds
        fault = Fault(route, status, times, until, when)
        self.fault_list.append(fault)
        return fault

    def add_attachment(
        self,
        filename: str,
        data: bytes,
        content_type: str,
        *,
        declared_size: int | None = None,
        redirect_to: str | None = None,
        streamed_size: int | None = None,
        guild: str | None = None,
    ) -> Payload:
        """Put a file on the CDN and return its attachment payload, for options and messages.

        ``declared_size`` is the size the payload claims (default: the real one); ``redirect_to``
        makes the CDN answer 302 to that address; ``streamed_size`` makes it send that many bytes of
        ``data`` repeated, piece by piece (``cdn_bytes_sent`` counts what went out)."""
        channel_id = self.guild.channel_id if guild == DM else self.guild_of(guild).channel_id
        attachment = self._store_attachment(channel_id, filename, data, content_type)
        if declared_size is not None:
            attachment["size"] = declared_size
        if redirect_to is not None:
            self._cdn_redirects[attachment["id"]] = redirect_to
        if streamed_size is not None:
            self._cdn_streams[attachment["id"]] = streamed_size
        return attachment

    # ------------------------------------------------------------------------------- internals

    def _store_attachment(
        self, channel_id: str, filename: str, data: bytes, content_type: str, description: str | None = None
    ) -> Payload:
        attachment_id = self._ids()
        self._attachments[attachment_id] = (data, content_type)
        url = f"{self.cdn_base}/attachments/{channel_id}/{attachment_id}/{filename}"
        attachment: Payload = {
            "id": attachment_id,
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
        }
        if description is not None:
            attachment["description"] = description
        return attachment

    def _find_command(self, name: str, command_type: int, guild: StandInGuild | None) -> tuple[Payload, str | None]:
        # A guild sees its own commands and the global ones; a DM only global ones, and Discord does
        # not offer a command there whose contexts leave out BOT_DM (1) or that has dm_permission off.
        for scope in (guild.id, None) if guild is not None else (None,):
            for command in self.command_sets.get(scope, []):
                if command["name"] == name and command.get("type", 1) == command_type:
                    contexts = command.get("contexts")
                    if guild is None and (command.get("dm_permission") is False or (contexts and 1 not in contexts)):
                        raise LookupError(f"Discord does not offer {name!r} in DMs (contexts {contexts})")
                    return command, scope
        synced = {scope: [c["name"] for c in cmds] for scope, cmds in self.command_sets.items()}
        where = guild.key if guild is not None else DM
        raise LookupError(f"no synced command {name!r} of type {command_type} in {where!r}; synced: {synced}")

    def _option_spec(self, command: Payload, name: str) -> Payload:
        for option in command.get("options") or []:
            if option["name"] == name:
                return dict(option)
        known = [o["name"] for o in command.get("options") or []]
        raise LookupError(f"/{command['name']} has no option {name!r}; it has {known}")

    def _build_options(
        self, command: Payload, values: Mapping[str, Any], resolved: Payload, guild: StandInGuild | None
    ) -> list[Payload]:
        missing = [o["name"] for o in command.get("options") or [] if o.get("required") and o["name"] not in values]
        if missing:
            raise ValueError(f"/{command['name']} needs options {missing}")
        built = []
        for name, value in values.items():
            option_type = self._option_spec(command, name)["type"]
            if option_type == OPTION_TYPES["attachment"]:
                resolved.setdefault("attachments", {})[value["id"]] = value
                value = value["id"]
            elif option_type == OPTION_TYPES["user"] and value in (guild or self.guild).users:
                person = (guild or self.guild).user(value)
                resolved.setdefault("users", {})[person.id] = person.payload()
                if guild is not None:
                    resolved.setdefault("members", {})[person.id] = {
                        **self._member(person, guild, with_user=False),
                        "permissions": str(guild.permissions_of(person)),
                    }
                value = person.id
            elif option_type == OPTION_TYPES["role"]:
                # A role option carries the role's id and, in ``resolved``, the role as the guild has it.
                role = next((r for r in (guild or self.guild).roles if r["id"] == str(value)), None)
                if role is None:
                    raise ValueError(f"no role {value!r} in guild {(guild or self.guild).key!r}")
                resolved.setdefault("roles", {})[role["id"]] = role
                value = role["id"]
            built.append({"name": name, "type": option_type, "value": value})
        return built

    async def _interact(
        self,
        kind: int,
        data: Payload,
        person: StandInUser,
        guild: StandInGuild | None,
        channel: Payload,
        *,
        message: Payload | None = None,
    ) -> Interaction:
        payload: Payload = {
            "id": self._ids(),
            "application_id": self.application_id,
            "type": kind,
            "data": data,
            "channel_id": channel["id"],
            "channel": copy.deepcopy(channel),
            "token": "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(96),
            "version": 1,
            "locale": "en-US",
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": self.attachment_size_limit,
        }
        if guild is not None:
            payload.update(
                guild_id=guild.id,
                guild={"id": guild.id, "locale": "en-US", "features": []},
                member={**self._member(person, guild), "permissions": str(guild.permissions_of(person))},
                app_permissions=str(guild.permissions_of(self.bot_user)),
                guild_locale="en-US",
                authorizing_integration_owners={"0": guild.id},
                context=0,
            )
        else:
            # In the bot's DM there is no member, only the user; a guild install is owned by "0".
            payload.update(
                user=person.payload(),
                app_permissions=str(BOT_PERMISSIONS),
                authorizing_integration_owners={"0": "0"},
                context=1,
            )
        if message is not None:
            payload["message"] = message
        interaction = Interaction(self, payload)
        self.interactions[interaction.id] = interaction
        if not self._gateways:
            raise RuntimeError("the bot is not connected to the stand-in's gateway")
        for gateway in self._gateways_for(guild)[:1]:  # Discord sends an interaction to one session
            await gateway.dispatch("INTERACTION_CREATE", payload)
            interaction.delivered = True
        return interaction

    def _gateways_for(self, guild: StandInGuild | None) -> list[_Gateway]:
        """The connections Discord sends ``guild``'s events to (None: DMs, shard 0)."""
        return [g for g in self._gateways.values() if g.holds(guild)]

    def _touch(self, message_id: str) -> None:
        self._touch_counter += 1
        self._touched[message_id] = self._touch_counter

    def _store(self, message: Payload) -> None:
        self.messages[message["id"]] = message
        self._touch(message["id"])
        channel = self._channel(message["channel_id"])
        if channel is not None:
            channel["last_message_id"] = message["id"]
            if channel["id"] in self.threads:
                channel["message_count"] += 1
                channel["total_message_sent"] += 1

    def _new_message(
        self,
        channel_id: str,
        author: StandInUser,
        body: Payload,
        *,
        message_type: int = 0,
        mentions: list[Payload] | None = None,
        interaction: Interaction | None = None,
    ) -> Payload:
        message: Payload = {
            "id": self._ids(),
            "type": message_type,
            "channel_id": channel_id,
            "author": author.payload(),
            "content": body.get("content") or "",
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts")),
            "mention_everyone": False,
            "mentions": mentions or [],
            "mention_roles": [],
            "mention_channels": [],
            "attachments": body.get("attachments") or [],
            "embeds": [{"type": "rich", **e} for e in body.get("embeds") or []],
            "reactions": [],
            "pinned": False,
            "flags": body.get("flags") or 0,
            "components": body.get("components") or [],
        }
        if body.get("poll"):
            message["poll"] = body["poll"]
        reference = body.get("message_reference")
        if reference:
            message["type"] = 19
            place = self._guild_of_channel(channel_id)
            message["message_reference"] = {"type": 0, **({"guild_id": place.id} if place else {}), **reference}
            referenced = self.messages.get(str(reference.get("message_id")))
            if referenced is not None:
                message["referenced_message"] = copy.deepcopy(referenced)
        if interaction is not None:
            message["webhook_id"] = self.application_id
            message["application_id"] = self.application_id
            metadata: Payload = {
                "id": interaction.id,
                "type": interaction.type,
                "user": interaction.user,
                "authorizing_integration_owners": interaction.payload["authorizing_integration_owners"],
            }
            if interaction.target_message_id:
                metadata["interacted_message_id"] = interaction.target_message_id
            if interaction.original_id:
                metadata["original_response_message_id"] = interaction.original_id
            message["interaction_metadata"] = metadata
        return message

    def _for_gateway(self, message: Payload, author: StandInUser) -> Payload:
        place = self._guild_of_channel(message["channel_id"])
        if place is None:
            return copy.deepcopy(message)
        return {**copy.deepcopy(message), "guild_id": place.id, "member": self._member(author, place, with_user=False)}

    async def _announce(self, event: str, message: Payload) -> None:
        """Dispatch a bot message event, as Discord does for messages everyone can see, on the shard
        of the message's guild (DMs: shard 0, with the direct-messages intent)."""
        if message.get("flags", 0) & EPHEMERAL:
            return
        place = self._guild_of_channel(message["channel_id"])
        needed = INTENT_GUILD_MESSAGES if place is not None else INTENT_DIRECT_MESSAGES
        for gateway in self._gateways_for(place):
            if not gateway.intents & needed:
                continue
            if event == "MESSAGE_DELETE":
                deleted = {"id": message["id"], "channel_id": message["channel_id"]}
                if place is not None:
                    deleted["guild_id"] = place.id
                await gateway.dispatch(event, deleted)
            else:
                await gateway.dispatch(event, self._for_gateway(message, self.bot_user))

    def _attachments_for(
        self, channel_id: str, spec: list[Payload] | None, files: Sequence[RecordedFile], existing: list[Payload]
    ) -> list[Payload]:
        by_field = {f.field: f for f in files}
        kept = {a["id"]: a for a in existing}
        if spec is None:
            result = list(existing)
            spec = [{"id": index} for index in range(len(files))]
        else:
            result = []
        for entry in spec:
            key = str(entry.get("id"))
            if key in kept:
                result.append(kept[key])
                continue
            upload = by_field.get(f"files[{key}]")
            if upload is None:
                continue
            filename = entry.get("filename") or upload.filename
            content_type = mimetypes.guess_type(filename)[0] or upload.content_type
            result.append(
                self._store_attachment(channel_id, filename, upload.data, content_type, entry.get("description"))
            )
        return result

    def _apply_edit(self, message: Payload, body: Payload, files: Sequence[RecordedFile]) -> None:
        # A null field clears it, as on Discord.
        if "content" in body:
            message["content"] = body["content"] or ""
        if "components" in body:
            message["components"] = body["components"] or []
        if "embeds" in body:
            message["embeds"] = [{"type": "rich", **e} for e in body["embeds"] or []]
        if "attachments" in body or files:
            message["attachments"] = self._attachments_for(
                message["channel_id"], body.get("attachments"), files, message["attachments"]
            )
        if body.get("flags") is not None:
            # Only these flags can change on an existing message; ephemerality cannot.
            changeable = (1 << 2) | IS_COMPONENTS_V2
            message["flags"] = (message["flags"] & ~changeable) | (body["flags"] & changeable)
        if message["flags"] & LOADING:
            message["flags"] &= ~LOADING
        else:
            message["edited_timestamp"] = _now_iso()
        self._touch(message["id"])

    # ------------------------------------------------------------------------------- waiting

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _wait_until(self, check: Callable[[], T | None], timeout: float, what: str) -> T:
        found: list[T] = []

        def done() -> bool:
            value = check()
            if value is None:
                return False
            found.append(value)
            return True

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(done), timeout)
            except TimeoutError:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}; {self._summary()}") from None
        return found[-1]

    def _summary(self) -> str:
        recent = [f"{r.method} {r.path} -> {r.status}" for r in self.requests[-8:]]
        return f"recent requests: {recent}; unserved: {len(self.unserved)}; faults: {self.faults}"

    # ------------------------------------------------------------------------------- HTTP plumbing

    def _add_routes(self, app: web.Application) -> None:
        api = API_PREFIX
        routes = [
            web.get(GATEWAY_PATH, self._gateway_socket),
            web.get(f"{api}/users/@me", self._get_me),
            web.get(f"{api}/oauth2/applications/@me", self._get_application),
            web.get(f"{api}/applications/@me", self._get_application),
            web.get(f"{api}/gateway", self._get_gateway),
            web.get(f"{api}/gateway/bot", self._get_gateway_bot),
            web.get(f"{api}/applications/{{application_id}}/commands", self._get_commands),
            web.put(f"{api}/applications/{{application_id}}/commands", self._put_commands),
            web.get(f"{api}/applications/{{application_id}}/guilds/{{guild_id}}/commands", self._get_commands),
            web.put(f"{api}/applications/{{application_id}}/guilds/{{guild_id}}/commands", self._put_commands),
            web.post(f"{api}/interactions/{{interaction_id}}/{{token}}/callback", self._callback),
            web.post(f"{api}/webhooks/{{application_id}}/{{token}}", self._followup),
            web.get(f"{api}/webhooks/{{application_id}}/{{token}}/messages/{{message_id}}", self._webhook_message),
            web.patch(f"{api}/webhooks/{{application_id}}/{{token}}/messages/{{message_id}}", self._webhook_message),
            web.delete(f"{api}/webhooks/{{application_id}}/{{token}}/messages/{{message_id}}", self._webhook_message),
            web.get(f"{api}/channels/{{channel_id}}", self._get_channel),
            web.post(f"{api}/channels/{{channel_id}}/typing", self._no_content),
            web.post(f"{api}/channels/{{channel_id}}/messages", self._create_message),
            web.get(f"{api}/channels/{{channel_id}}/messages/{{message_id}}", self._channel_message),
            web.patch(f"{api}/channels/{{channel_id}}/messages/{{message_id}}", self._channel_message),
            web.delete(f"{api}/channels/{{channel_id}}/messages/{{message_id}}", self._channel_message),
            web.put(f"{api}/channels/{{channel_id}}/messages/{{message_id}}/reactions/{{emoji}}/@me", self._no_content),
            web.post(f"{api}/channels/{{channel_id}}/messages/{{message_id}}/threads", self._start_thread),
            web.post(f"{api}/channels/{{channel_id}}/threads", self._start_thread),
            web.get(f"{api}/guilds/{{guild_id}}", self._get_guild),
            web.get(f"{api}/guilds/{{guild_id}}/channels", self._get_guild_channels),
            web.get(f"{api}/guilds/{{guild_id}}/members/{{user_id}}", self._get_member),
            web.get(f"{CDN_PREFIX}/attachments/{{channel_id}}/{{attachment_id}}/{{filename}}", self._cdn),
            web.route("*", "/{tail:.*}", self._unserved),
        ]
        app.add_routes(routes)

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == GATEWAY_PATH:
            response: web.StreamResponse = await handler(request)
            return response
        body: Any = None
        files: list[RecordedFile] = []
        try:
            body, files = await self._parse_body(request)
            request[BODY], request[FILES] = body, tuple(files)
            fault = self._fault_for(request, body)
            if fault is not None:
                fault.hits += 1
                if fault.status == DROP and request.transport is not None:
                    request.transport.close()  # the client sees the connection drop, with no answer
                response = self._error(request, fault.status or 499, 0, f"{fault.status}: injected fault")
            else:
                response = await handler(request)
        except json.JSONDecodeError:
            response = self._error(request, 400, 50109, "The request body contains invalid JSON.")
        except Exception as exc:  # a stand-in bug must fail the test (see assert_clean), not hang the bot
            log.exception("Discord stand-in failed on %s %s", request.method, request.path)
            self.faults.append(f"{request.method} {request.path}: {exc!r}")
            response = self._reply(request, {"message": f"stand-in fault: {exc!r}", "code": 0}, 400)
        kind: Literal["api", "cdn"] = "cdn" if request.path.startswith(CDN_PREFIX) else "api"
        prefix = CDN_PREFIX if kind == "cdn" else API_PREFIX
        resource = request.match_info.route.resource
        served = not request.get(UNSERVED) and resource is not None
        template = resource.canonical.removeprefix(prefix) if served and resource is not None else ""
        recorded = Recorded(
            method=request.method,
            kind=kind,
            path=request.path.removeprefix(prefix),
            route=f"{request.method} {template}" if template else "",
            params=dict(request.match_info) if served else {},
            query=dict(request.query),
            json=body,
            files=tuple(files),
            reason=request.headers.get("X-Audit-Log-Reason"),
            at=time.monotonic(),
            status=response.status,
            response=request.get(RESPONSE),
        )
        self.requests.append(recorded)
        if not served:
            self.unserved.append(recorded)
        await self._notify()
        return response

    def _fault_for(self, request: web.Request, body: Any) -> Fault | None:
        resource = request.match_info.route.resource
        if resource is None or not self.fault_list:
            return None
        prefix = CDN_PREFIX if request.path.startswith(CDN_PREFIX) else API_PREFIX
        route = f"{request.method} {resource.canonical.removeprefix(prefix)}"
        return next((f for f in self.fault_list if f.applies(route, body)), None)

    async def _parse_body(self, request: web.Request) -> tuple[Any, list[RecordedFile]]:
        if request.content_type.startswith("multipart/"):
            payload: Any = None
            files: list[RecordedFile] = []
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    continue
                data = bytes(await part.read(decode=False))
                if part.name == "payload_json":
                    payload = json.loads(data)
                elif part.filename is not None:
                    content_type = part.headers.get("Content-Type", "application/octet-stream")
                    files.append(RecordedFile(part.name or "", part.filename, content_type, data))
            return payload, files
        raw = await request.read()
        if not raw:
            return None, []
        if request.content_type == "application/json":
            return json.loads(raw), []
        return raw.decode("utf-8", "replace"), []

    def _reply(self, request: web.Request, data: Any, status: int = 200) -> web.Response:
        # discord.py parses JSON only when Content-Type is exactly application/json (no charset).
        request[RESPONSE] = data
        return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})

    def _error(self, request: web.Request, status: int, code: int, message: str) -> web.Response:
        return self._reply(request, {"message": message, "code": code}, status)

    def _body(self, request: web.Request) -> Payload:
        body = request[BODY]
        return body if isinstance(body, dict) else {}

    def _files(self, request: web.Request) -> tuple[RecordedFile, ...]:
        return request[FILES]

    def _upload_too_large(self, request: web.Request) -> web.Response | None:
        if sum(len(f.data) for f in self._files(request)) > self.attachment_size_limit:
            return self._error(request, 413, 40005, "Request entity too large")
        return None

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bot {self.token}"

    # ------------------------------------------------------------------------------- HTTP routes

    async def _unserved(self, request: web.Request) -> web.Response:
        request[UNSERVED] = True
        return self._error(request, 404, 0, "404: Not Found")

    async def _no_content(self, request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def _get_me(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._error(request, 401, 0, "401: Unauthorized")
        me = {**self.bot_user.payload(), "verified": True, "mfa_enabled": False, "locale": "en-US", "email": None}
        return self._reply(request, me)

    async def _get_application(self, request: web.Request) -> web.Response:
        return self._reply(
            request,
            {
                "id": self.application_id,
                "name": self.bot_user.username,
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": secrets.token_hex(32),
                **self._ownership(),
                "flags": (1 << 19) | (1 << 23),
                "bot": self.bot_user.payload(),
                "interactions_endpoint_url": None,
                "redirect_uris": [],
                "tags": [],
                "approximate_guild_count": len(self.guilds),
                "integration_types_config": {"0": {}},
            },
        )

    def _ownership(self) -> Payload:
        """``owner`` and ``team`` as Discord gives them: a team-owned application's ``owner`` is the
        team's pseudo-user, and its members carry roles (the team owner is an admin)."""
        if not self.team_member_ids and not self.team_read_only_ids:
            return {"owner": self.app_owner.payload(), "team": None}

        def member(user_id: str, role: str) -> Payload:
            person = self.people.get(user_id)
            user = person.payload() if person is not None else StandInUser("team", user_id, f"team-{user_id}").payload()
            return {"membership_state": 2, "team_id": self.team_id, "permissions": ["*"], "role": role, "user": user}

        members = [member(self.app_owner.id, "admin")]
        members += [member(i, "developer") for i in self.team_member_ids if i != self.app_owner.id]
        members += [member(i, "read_only") for i in self.team_read_only_ids if i != self.app_owner.id]
        name = f"team{self.team_id}"
        pseudo = {**StandInUser("team", self.team_id, name).payload(), "flags": 1 << 10, "public_flags": 1 << 10}
        team = {"id": self.team_id, "name": "OnRecord Team", "icon": None, "owner_user_id": self.app_owner.id}
        return {"owner": pseudo, "team": {**team, "members": members}}

    async def _get_gateway(self, request: web.Request) -> web.Response:
        return self._reply(request, {"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        answer = {"url": self.gateway_url, "shards": self.shard_count, "session_start_limit": limit}
        return self._reply(request, answer)

    def _scope(self, request: web.Request) -> str | None:
        return request.match_info.get("guild_id")

    def _wrong_application(self, request: web.Request) -> web.Response | None:
        if request.match_info["application_id"] != self.application_id:
            return self._error(request, 404, 10002, "Unknown Application")
        scope = self._scope(request)
        if scope is not None and self.guild_by_id(scope) is None:
            return self._error(request, 404, 10004, "Unknown Guild")
        return None

    async def _get_commands(self, request: web.Request) -> web.Response:
        return self._wrong_application(request) or self._reply(request, self.command_sets.get(self._scope(request), []))

    async def _put_commands(self, request: web.Request) -> web.Response:
        wrong = self._wrong_application(request)
        if wrong is not None:
            return wrong
        scope = self._scope(request)
        previous = {(c["name"], c.get("type", 1)): c["id"] for c in self.command_sets.get(scope, [])}
        synced = []
        for command in request[BODY] or []:
            command_type = command.get("type", 1)
            synced.append(
                {
                    "type": 1,
                    "description": "",
                    "options": [],
                    "default_member_permissions": None,
                    "nsfw": False,
                    "contexts": None,
                    "integration_types": [0],
                    **command,
                    "id": previous.get((command["name"], command_type)) or self._ids(),
                    "application_id": self.application_id,
                    "version": self._ids(),
                    **({"guild_id": scope} if scope else {}),
                }
            )
        self.command_sets[scope] = synced
        self.commands = synced
        return self._reply(request, synced)

    async def _callback(self, request: web.Request) -> web.Response:
        interaction = self.interactions.get(request.match_info["interaction_id"])
        if interaction is None or interaction.token != request.match_info["token"]:
            return self._error(request, 404, 10062, "Unknown interaction")
        if interaction.response_type is not None:
            return self._error(request, 400, 40060, "Interaction has already been acknowledged.")
        if time.monotonic() - interaction.dispatched_at > self.interaction_deadline:
            return self._error(request, 404, 10062, "Unknown interaction")
        body = self._body(request)
        callback_type = body.get("type")
        data: Payload = body.get("data") or {}
        if callback_type not in ALLOWED_CALLBACKS.get(interaction.type, frozenset()):
            tree = _error_tree(("type",), "INTERACTION_RESPONSE_TYPE_INVALID", "Invalid interaction response type")
            return self._reply(request, {"message": "Invalid Form Body", "code": 50035, "errors": tree}, 400)
        if callback_type in (CHANNEL_MESSAGE, UPDATE_MESSAGE):
            problem = message_errors(data, prefix=("data",), creating=callback_type == CHANNEL_MESSAGE)
            if problem is not None:
                return self._reply(request, problem, 400)
        too_large = self._upload_too_large(request)
        if too_large is not None:
            return too_large

        message: Payload | None = None
        if callback_type in (CHANNEL_MESSAGE, DEFERRED_MESSAGE):
            message = await self._create_original(interaction, callback_type, data, self._files(request))
        elif callback_type in (DEFERRED_UPDATE, UPDATE_MESSAGE):
            interaction.original_id = interaction.target_message_id
            target = self.messages.get(interaction.original_id or "")
            if callback_type == UPDATE_MESSAGE and target is not None:
                self._apply_edit(target, data, self._files(request))
                await self._announce("MESSAGE_UPDATE", target)
                message = target
        elif callback_type == AUTOCOMPLETE_RESULT:
            choices = data.get("choices") or []
            if len(choices) > MAX_CHOICES:
                tree = _error_tree(("data", "choices"), *_too_long(MAX_CHOICES))
                return self._reply(request, {"message": "Invalid Form Body", "code": 50035, "errors": tree}, 400)
            interaction.choices = choices
        elif callback_type == MODAL:
            interaction.modal = data
        interaction.response_type = callback_type
        interaction.responded_at = time.monotonic()

        if request.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        summary: Payload = {"id": interaction.id, "type": interaction.type}
        answer: Payload = {"interaction": summary}
        if message is not None:
            summary.update(
                response_message_id=message["id"],
                response_message_loading=bool(message["flags"] & LOADING),
                response_message_ephemeral=bool(message["flags"] & EPHEMERAL),
            )
            answer["resource"] = {"type": callback_type, "message": copy.deepcopy(message)}
        elif callback_type != DEFERRED_UPDATE:
            answer["resource"] = {"type": callback_type}
        return self._reply(request, answer)

    async def _create_original(
        self, interaction: Interaction, callback_type: int, data: Payload, files: Sequence[RecordedFile]
    ) -> Payload:
        channel_id = interaction.payload["channel_id"]
        body = dict(data)
        if callback_type == DEFERRED_MESSAGE:
            body = {"flags": (data.get("flags") or 0) & EPHEMERAL | LOADING}
        else:
            body["attachments"] = self._attachments_for(channel_id, data.get("attachments"), files, [])
        if interaction.type == APPLICATION_COMMAND:
            message_type = 23 if interaction.payload["data"].get("type", 1) != 1 else 20
        else:
            message_type = 0
        message = self._new_message(channel_id, self.bot_user, body, message_type=message_type, interaction=interaction)
        interaction.original_id = message["id"]
        self._store(message)
        await self._announce("MESSAGE_CREATE", message)
        return message

    def _interaction_by_token(self, request: web.Request) -> Interaction | None:
        if request.match_info["application_id"] != self.application_id:
            return None
        token = request.match_info["token"]
        return next((i for i in self.interactions.values() if i.token == token), None)

    def _token_expired(self, request: web.Request, interaction: Interaction) -> web.Response | None:
        if time.monotonic() - interaction.dispatched_at > self.token_lifetime:
            return self._error(request, 401, 50027, "Invalid Webhook Token")
        return None

    async def _followup(self, request: web.Request) -> web.Response:
        interaction = self._interaction_by_token(request)
        if interaction is None or interaction.response_type is None:
            return self._error(request, 404, 10015, "Unknown Webhook")
        expired = self._token_expired(request, interaction)
        if expired is not None:
            return expired
        body = self._body(request)
        problem = message_errors(body, creating=not self._files(request))
        if problem is not None:
            return self._reply(request, problem, 400)
        too_large = self._upload_too_large(request)
        if too_large is not None:
            return too_large
        original = self.messages.get(interaction.original_id or "")
        if interaction.response_type == DEFERRED_MESSAGE and original is not None and original["flags"] & LOADING:
            # Discord: the first follow-up after a deferred response edits the loading message, and
            # keeps the ephemerality chosen when deferring.
            self._apply_edit(original, {k: v for k, v in body.items() if k != "flags"}, self._files(request))
            await self._announce("MESSAGE_UPDATE", original)
            message = original
        else:
            channel_id = interaction.payload["channel_id"]
            body = {**body, "flags": (body.get("flags") or 0) & ~LOADING}
            body["attachments"] = self._attachments_for(channel_id, body.get("attachments"), self._files(request), [])
            message = self._new_message(channel_id, self.bot_user, body, interaction=interaction)
            interaction.followup_ids.append(message["id"])
            self._store(message)
            await self._announce("MESSAGE_CREATE", message)
        if request.query.get("wait") not in ("1", "true", "True"):
            return web.Response(status=204)
        return self._reply(request, copy.deepcopy(message))

    async def _webhook_message(self, request: web.Request) -> web.Response:
        interaction = self._interaction_by_token(request)
        if interaction is None:
            return self._error(request, 404, 10015, "Unknown Webhook")
        expired = self._token_expired(request, interaction)
        if expired is not None:
            return expired
        wanted = request.match_info["message_id"]
        message_id = interaction.original_id if wanted == "@original" else wanted
        if message_id is None or message_id not in interaction.message_ids():
            return self._error(request, 404, 10008, "Unknown Message")
        message = self.messages[message_id]
        if request.method == "DELETE":
            del self.messages[message_id]
            await self._announce("MESSAGE_DELETE", message)
            return web.Response(status=204)
        if request.method == "PATCH":
            body = self._body(request)
            problem = message_errors(body, creating=False)
            if problem is not None:
                return self._reply(request, problem, 400)
            too_large = self._upload_too_large(request)
            if too_large is not None:
                return too_large
            self._apply_edit(message, body, self._files(request))
            await self._announce("MESSAGE_UPDATE", message)
        return self._reply(request, copy.deepcopy(message))

    async def _get_channel(self, request: web.Request) -> web.Response:
        channel = self._channel(request.match_info["channel_id"])
        if channel is None:
            return self._error(request, 404, 10003, "Unknown Channel")
        return self._reply(request, channel)

    async def _create_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request.match_info["channel_id"])
        if channel is None:
            return self._error(request, 404, 10003, "Unknown Channel")
        body = self._body(request)
        problem = message_errors(body, creating=not self._files(request))
        if problem is not None:
            return self._reply(request, problem, 400)
        too_large = self._upload_too_large(request)
        if too_large is not None:
            return too_large
        body = {
            **body,
            "attachments": self._attachments_for(channel["id"], body.get("attachments"), self._files(request), []),
        }
        message = self._new_message(channel["id"], self.bot_user, body)
        self._store(message)
        await self._announce("MESSAGE_CREATE", message)
        return self._reply(request, copy.deepcopy(message))

    async def _channel_message(self, request: web.Request) -> web.Response:
        message = self.messages.get(request.match_info["message_id"])
        if message is None or message["channel_id"] != request.match_info["channel_id"]:
            return self._error(request, 404, 10008, "Unknown Message")
        if request.method == "GET":
            return self._reply(request, copy.deepcopy(message))
        if message["author"]["id"] != self.bot_user_id and request.method == "PATCH":
            return self._error(request, 403, 50005, "Cannot edit a message authored by another user")
        if request.method == "DELETE":
            del self.messages[message["id"]]
            await self._announce("MESSAGE_DELETE", message)
            return web.Response(status=204)
        body = self._body(request)
        problem = message_errors(body, creating=False)
        if problem is not None:
            return self._reply(request, problem, 400)
        self._apply_edit(message, body, self._files(request))
        await self._announce("MESSAGE_UPDATE", message)
        return self._reply(request, copy.deepcopy(message))

    async def _start_thread(self, request: web.Request) -> web.Response:
        parent = self.channels.get(request.match_info["channel_id"])
        if parent is None:
            return self._error(request, 404, 10003, "Unknown Channel")
        if parent.get("type") != 0:
            return self._error(request, 400, 50024, "Cannot execute action on this channel type")
        body = self._body(request)
        name = body.get("name") or ""
        if not 1 <= len(name) <= MAX_THREAD_NAME:
            tree = _error_tree(("name",), "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_THREAD_NAME} in length.")
            return self._reply(request, {"message": "Invalid Form Body", "code": 50035, "errors": tree}, 400)
        starter_id = request.match_info.get("message_id")
        starter = self.messages.get(starter_id or "")
        if starter_id is not None:
            if starter is None or starter["channel_id"] != parent["id"]:
                return self._error(request, 404, 10008, "Unknown Message")
            if starter_id in self.threads:
                return self._error(request, 400, 160004, "A thread has already been created for this message")
        now = _now_iso()
        thread: Payload = {
            "id": starter_id or self._ids(),
            "type": 11 if starter_id else body.get("type", 12),
            "guild_id": parent["guild_id"],
            "parent_id": parent["id"],
            "owner_id": self.bot_user_id,
            "name": name,
            "last_message_id": None,
            "rate_limit_per_user": body.get("rate_limit_per_user") or 0,
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": body.get("auto_archive_duration") or 1440,
                "archive_timestamp": now,
                "locked": False,
                "create_timestamp": now,
            },
        }
        self.threads[thread["id"]] = thread
        if starter is not None:
            starter["flags"] |= HAS_THREAD
            starter["thread"] = thread
        for gateway in self._gateways_for(self.guild_by_id(parent["guild_id"])):
            if gateway.intents & INTENT_GUILDS:
                await gateway.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return self._reply(request, copy.deepcopy(thread), 201)

    async def _get_guild(self, request: web.Request) -> web.Response:
        place = self.guild_by_id(request.match_info["guild_id"])
        if place is None:
            return self._error(request, 404, 10004, "Unknown Guild")
        guild = place.payload()
        for key in ("members", "channels", "threads", "presences", "voice_states", "joined_at", "large"):
            guild.pop(key, None)
        return self._reply(request, guild)

    async def _get_guild_channels(self, request: web.Request) -> web.Response:
        place = self.guild_by_id(request.match_info["guild_id"])
        if place is None:
            return self._error(request, 404, 10004, "Unknown Guild")
        return self._reply(request, list(place.channels.values()))

    async def _get_member(self, request: web.Request) -> web.Response:
        place = self.guild_by_id(request.match_info["guild_id"])
        person = self.people.get(request.match_info["user_id"])
        if place is None or person is None or not place.is_member(person):
            return self._error(request, 404, 10007, "Unknown Member")
        return self._reply(request, self._member(person, place))

    async def _cdn(self, request: web.Request) -> web.Response:
        if self.fail_next_cdn > 0:
            self.fail_next_cdn -= 1
            return web.Response(status=503, text="upstream connect error")
        attachment_id = request.match_info["attachment_id"]
        stored = self._attachments.get(attachment_id)
        if stored is None:
            return web.Response(status=404, text="Not Found")
        data, content_type = stored
        if attachment_id in self._cdn_redirects:
            return web.Response(status=302, headers={"Location": self._cdn_redirects[attachment_id]})
        if attachment_id not in self._cdn_streams:
            self.cdn_bytes_sent += len(data)
            return web.Response(body=data, headers={"Content-Type": content_type})
        total = self._cdn_streams[attachment_id]
        response = web.StreamResponse(headers={"Content-Type": content_type})  # chunked: no Content-Length
        await response.prepare(request)
        piece = (data * (65536 // max(len(data), 1) + 1))[:65536]
        try:
            while self.cdn_bytes_sent < total:
                await response.write(piece)
                self.cdn_bytes_sent += len(piece)
        except (ConnectionError, RuntimeError):  # the client stopped reading: what it was meant to do
            return response
        await response.write_eof()
        return response

    # ------------------------------------------------------------------------------- gateway

    async def _gateway_socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(max_msg_size=0)
        await socket.prepare(request)
        self._sockets.add(socket)
        connection = _Gateway(socket)
        try:
            await connection.send(
                {"op": 10, "s": None, "t": None, "d": {"heartbeat_interval": self.heartbeat_interval_ms}}
            )
            async for frame in socket:
                if frame.type is WSMsgType.TEXT:
                    await self._on_gateway(connection, json.loads(frame.data))
        finally:
            self._sockets.discard(socket)
            shard = (connection.shard_id, connection.shard_count)
            if self._gateways.get(shard) is connection:
                del self._gateways[shard]
                await self._notify()
        return socket

    async def _on_gateway(self, connection: _Gateway, message: Payload) -> None:
        op, data = message.get("op"), message.get("d")
        if op == 1:
            await connection.send({"op": 11, "s": None, "t": None, "d": None})
        elif op == 2:
            await self._on_identify(connection, data or {})
        elif op == 3:
            self.presence = data
        elif op == 6:
            await self._on_resume(connection, data or {})
        elif op == 8:
            place = self.guild_by_id((data or {}).get("guild_id"))
            if place is None or not connection.holds(place):
                return
            members = [self._member(u, place) for u in place.people()]
            chunk = {"guild_id": place.id, "members": members, "chunk_index": 0, "chunk_count": 1}
            if data and data.get("nonce"):
                chunk["nonce"] = data["nonce"]
            await connection.dispatch("GUILD_MEMBERS_CHUNK", chunk)
        else:
            log.debug("Discord stand-in ignores gateway op %s", op)

    def _hold(self, connection: _Gateway, shard_id: int, shard_count: int, intents: int) -> None:
        """Make ``connection`` the one holding this shard (a newer session replaces an older one)."""
        connection.shard_id, connection.shard_count, connection.intents = shard_id, shard_count, intents
        connection.identified = True
        self._gateways[(shard_id, shard_count)] = connection

    async def _on_resume(self, connection: _Gateway, data: Payload) -> None:
        session = self._sessions.get(str(data.get("session_id")))
        if data.get("token") != self.token or session is None:
            await connection.send({"op": 9, "s": None, "t": None, "d": False})  # invalid session: identify
            return
        connection.session_id = str(data["session_id"])
        self._hold(connection, *session)
        connection.ready = True
        await connection.dispatch("RESUMED", {})
        await self._notify()

    async def _on_identify(self, connection: _Gateway, data: Payload) -> None:
        if data.get("token") != self.token:
            await connection.socket.close(code=4004, message=b"Authentication failed.")
            return
        shard_id, shard_count = data.get("shard") or (0, 1)
        if not (isinstance(shard_id, int) and isinstance(shard_count, int) and 0 <= shard_id < shard_count):
            await connection.socket.close(code=4010, message=b"Invalid shard.")
            return
        if shard_count < self.shard_count:
            await connection.socket.close(code=4011, message=b"Sharding required.")
            return
        self.identify = {**data, "token": "<redacted>"}
        self.identifies.append(self.identify)
        connection.session_id = secrets.token_hex(16)
        intents = int(data.get("intents", 0))
        self._sessions[connection.session_id] = (shard_id, shard_count, intents)
        self._hold(connection, shard_id, shard_count, intents)
        guilds = [g for g in self.guilds.values() if connection.holds(g)]
        ready: Payload = {
            "v": 10,
            "user": {**self.bot_user.payload(), "verified": True, "mfa_enabled": False},
            "guilds": [{"id": g.id, "unavailable": True} for g in guilds],
            "session_id": connection.session_id,
            "resume_gateway_url": self.gateway_url,
            "session_type": "normal",
            "application": {"id": self.application_id, "flags": (1 << 19) | (1 << 23)},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "geo_ordered_rtc_regions": [],
            "guild_join_requests": [],
            "user_settings": {},
            "_trace": ["discord-standin"],
        }
        if "shard" in data:
            ready["shard"] = data["shard"]
        await connection.dispatch("READY", ready)
        if connection.intents & INTENT_GUILDS:
            for guild in guilds:
                await connection.dispatch("GUILD_CREATE", guild.payload())
        connection.ready = True
        await self._notify()


def _shards_of(bot: discord.Client) -> list[int] | None:
    """The shards ``bot`` will identify on, when it says (None: every shard it is told of)."""
    if isinstance(bot, discord.AutoShardedClient):
        return None if bot.shard_ids is None else list(bot.shard_ids)
    return None if bot.shard_id is None else [bot.shard_id]


@contextlib.asynccontextmanager
async def running(
    standin: DiscordStandIn, bot: discord.Client, *, timeout: float = 10, shards: Sequence[int] | None = None
) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``bot`` against ``standin`` for the block: start it, wait for on_ready, close it at the end.

    Waits for the bot's own ``shards`` (default: its ``shard_ids``, or every shard), so several bot
    processes (here: clients) with split shards can each be started with it. Raises what ``bot.start``
    raised (e.g. ``discord.LoginFailure``) instead of waiting for a ready that never comes, and, when
    the block itself succeeded, what the bot raised while it ran.
    """
    task = asyncio.create_task(bot.start(standin.token), name="standin-bot")
    wanted = _shards_of(bot) if shards is None else list(shards)

    async def ready() -> None:
        await standin.wait_ready(timeout, shards=wanted)
        await bot.wait_until_ready()

    waiter = asyncio.create_task(ready(), name="standin-bot-ready")
    block_failed = True
    try:
        done, _ = await asyncio.wait({task, waiter}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()
            raise RuntimeError("the bot stopped before it was ready")
        if waiter not in done:
            raise TimeoutError(f"the bot was not ready within {timeout}s; {standin._summary()}")
        waiter.result()
        yield task
        block_failed = False
    finally:
        waiter.cancel()
        with contextlib.suppress(BaseException):
            await waiter
        await bot.close()
        await asyncio.wait({task}, timeout=timeout)
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        failure = None if task.cancelled() or not task.done() else task.exception()
        if failure is not None and not block_failed:
            raise failure
