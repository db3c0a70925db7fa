"""Source metadata read within bounds and checked for what each field claims to be.

Front matter and ``.meta.yaml`` sidecars are written by whoever adds a file (any moderator can upload
one), so their YAML is read with limits: at most `MAX_YAML_CHARS` of it, few aliases, and a bounded
size once aliases are expanded (a 400-byte "billion laughs" document otherwise expands to megabytes,
or gigabytes once something turns it into a string). Dates that are no real date (``0000-01-01``)
stay text instead of raising from inside the YAML reader.

Then each known field is checked: ``title``, ``author``, ``outlet`` and ``location`` are short text,
``url`` is an http(s) URL with nothing in it that Discord or Markdown would read as markup,
``published`` / ``date`` a real date, ``furniture`` a short list of strings. `checked` refuses a
moderator's file whose fields are wrong, with the field and the reason (`SourceError`), so it can be
fixed; `sanitized` drops wrong values found inside a file (HTML meta tags, PDF info), which nobody
can fix. Unknown fields are left alone.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any
from urllib.parse import urlsplit

import frontmatter
import yaml
from frontmatter.default_handlers import YAMLHandler

from .errors import SourceError

log = logging.getLogger(__name__)

MAX_YAML_CHARS = 64_000
MAX_ALIASES = 50
# Nodes and scalar characters once every alias is expanded: real front matter is a few dozen nodes.
MAX_EXPANDED_NODES = 5_000
MAX_EXPANDED_CHARS = 200_000
MAX_DEPTH = 20

TEXT_LIMITS = {"title": 500, "author": 300, "outlet": 300, "location": 300}
MAX_URL = 2_000
MAX_FURNITURE = 200
MAX_FURNITURE_CHARS = 2_000
MAX_NAMES = 20
DATE_FIELDS = ("published", "date")

# Characters that make a URL markup somewhere it is shown: masked links, code spans, angle brackets.
_URL_MARKUP = re.compile(r"[\s\[\]<>`\"'\\{}|^\x00-\x1f\x7f]")


class MetadataError(SourceError):
    """A file's metadata is too large, malformed or of the wrong type; the message names the field."""


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader that counts aliases and measures the document as if they were expanded."""

    def __init__(self, stream: str, what: str) -> None:
        super().__init__(stream)
        self.what = what
        self.aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise MetadataError(f"its {self.what} uses more than {MAX_ALIASES} YAML aliases")
        return super().compose_node(parent, index)  # type: ignore[no-any-return]

    def get_single_node(self) -> yaml.Node | None:
        node: yaml.Node | None = super().get_single_node()
        if node is not None:
            _measure(node, self.what)
        return node

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        # An impossible date ("0000-01-01", "2024-02-30") stays text, refused by name in `checked`.
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_BoundedLoader.add_constructor("tag:yaml.org,2002:timestamp", _BoundedLoader.construct_yaml_timestamp)


def _measure(root: yaml.Node, what: str) -> None:
    """Refuse a node graph that is recursive, too deep, or too large once its aliases are expanded.

    Aliases share nodes, so the graph is small while its expansion may not be: sizes are memoised
    per node, which makes this linear in the graph, not in the expansion."""
    sizes: dict[int, tuple[int, int]] = {}
    active: set[int] = set()

    def size(node: yaml.Node, depth: int) -> tuple[int, int]:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise MetadataError(f"its {what} is recursive (a YAML alias refers to itself)")
        if depth > MAX_DEPTH:
            raise MetadataError(f"its {what} is nested more than {MAX_DEPTH} levels deep")
        active.add(key)
        nodes, chars = 1, 0
        if isinstance(node, yaml.ScalarNode):
            chars = len(node.value)
        else:
            children: list[yaml.Node] = []
            for item in node.value:
                children.extend(item if isinstance(item, tuple) else (item,))
            for child in children:
                child_nodes, child_chars = size(child, depth + 1)
                nodes, chars = nodes + child_nodes, chars + child_chars
                if nodes > MAX_EXPANDED_NODES or chars > MAX_EXPANDED_CHARS:
                    raise MetadataError(f"its {what} is too large once its YAML aliases are expanded")
        active.discard(key)
        sizes[key] = (nodes, chars)
        return nodes, chars

    size(root, 0)


def load_yaml(text: str, what: str) -> Any:
    """``text`` parsed as YAML within the limits above. Raises `MetadataError` naming ``what``."""
    if len(text) > MAX_YAML_CHARS:
        raise MetadataError(f"its {what} is {len(text):,} characters long, over the {MAX_YAML_CHARS:,} limit")
    loader = _BoundedLoader(text, what)
    try:
        return loader.get_single_data()
    except MetadataError:
        raise
    except (yaml.YAMLError, RecursionError) as error:
        raise MetadataError(f"its {what} is not valid YAML ({error.__class__.__name__})") from error
    finally:
        loader.dispose()


def front_matter(raw: str) -> tuple[str, dict[str, Any]]:
    """A Markdown file's text and its checked front matter (YAML, or TOML / JSON when marked so)."""
    handler = frontmatter.detect_format(raw.strip(), frontmatter.handlers)
    if isinstance(handler, YAMLHandler):
        handler = _BoundedYAMLHandler()
    if handler is None:
        return raw.strip(), {}
    try:
        fields, content = frontmatter.parse(raw, handler=handler)
    except MetadataError:
        raise
    except Exception as error:  # the TOML and JSON readers raise their own errors
        raise MetadataError(f"its front matter cannot be read ({error.__class__.__name__})") from error
    return content, checked(dict(fields), "front matter")


def sidecar(data: bytes, name: str) -> dict[str, Any]:
    """The checked fields of a ``.meta.yaml`` sidecar (empty when there is none)."""
    if not data:
        return {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MetadataError(f"its metadata file {name} is not UTF-8 text") from error
    loaded = load_yaml(text, f"metadata file {name}")
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise MetadataError(f"its metadata file {name} is not a mapping of fields")
    return checked(loaded, name)


class _BoundedYAMLHandler(YAMLHandler):
    """python-frontmatter's YAML handler with the bounded loader."""

    def load(self, fm: str, **kwargs: object) -> Any:
        return load_yaml(fm, "front matter")


def checked(fields: dict[Any, Any], where: str) -> dict[str, Any]:
    """``fields`` with every known field checked and normalised; `MetadataError` names a wrong one
    (and ``where`` it is, unless that is the front matter)."""
    result: dict[str, Any] = {str(key): value for key, value in fields.items()}
    for name, value in list(result.items()):
        if value is None:
            del result[name]
            continue
        problem, fixed = _check(name, value)
        if problem is not None:
            place = "" if where == "front matter" else f" (in {where})"
            raise MetadataError(f"its {name!r} metadata{place} {problem}")
        result[name] = fixed
    return result


def sanitized(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` without the values that are not what their field claims (logged, not raised)."""
    kept: dict[str, Any] = {}
    for name, value in fields.items():
        if value is None:
            continue
        problem, fixed = _check(name, value)
        if problem is None:
            kept[name] = fixed
        else:
            log.info("left out the file's %s: it %s", name, problem)
    return kept


def _check(name: str, value: Any) -> tuple[str | None, Any]:
    """(why ``value`` is wrong for field ``name``, or None; the normalised value)."""
    if name in TEXT_LIMITS:
        return _text(value, TEXT_LIMITS[name], names=name in ("author", "outlet"))
    if name == "url":
        return _url(value)
    if name in DATE_FIELDS:
        return _date(value)
    if name == "furniture":
        return _furniture(value)
    return None, value


def _text(value: Any, limit: int, *, names: bool = False) -> tuple[str | None, Any]:
    if names and isinstance(value, list):  # several authors
        if len(value) > MAX_NAMES or not all(isinstance(v, str | int | float) for v in value):
            return f"must be a name or a list of at most {MAX_NAMES} names", None
        value = ", ".join(str(v) for v in value)
    if isinstance(value, bool) or not isinstance(value, str | int | float | dt.date):
        return f"must be text, not {_kind(value)}", None
    text = " ".join(str(value).split())
    if len(text) > limit:
        return f"is {len(text):,} characters long, over the {limit:,} limit", None
    return None, text


def _url(value: Any) -> tuple[str | None, Any]:
    if not isinstance(value, str):
        return f"must be a web address, not {_kind(value)}", None
    url = value.strip()
    if len(url) > MAX_URL:
        return f"is {len(url):,} characters long, over the {MAX_URL:,} limit", None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "is not a web address", None
    if parts.scheme not in ("http", "https") or not host:
        return "must be an http:// or https:// web address", None
    if _URL_MARKUP.search(url):
        return "must be a plain web address (no spaces, brackets, quotes or markup)", None
    if "@" in parts.netloc:
        return "must not hold a user name or password", None
    return None, url


def _date(value: Any) -> tuple[str | None, Any]:
    if isinstance(value, dt.datetime):
        return None, value.date()
    if isinstance(value, dt.date):
        return None, value
    if isinstance(value, str):
        text = value.strip()
        try:
            return None, dt.date.fromisoformat(text[:10])
        except ValueError:
            pass
        return f"is not a real date ({text[:40]!r}; write it as YYYY-MM-DD)", None
    return f"must be a date written as YYYY-MM-DD, not {_kind(value)}", None


def _furniture(value: Any) -> tuple[str | None, Any]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str | int | float) for item in items):
        return "must be a list of strings", None
    if len(items) > MAX_FURNITURE:
        return f"has {len(items):,} entries, over the {MAX_FURNITURE} limit", None
    if any(len(str(item)) > MAX_FURNITURE_CHARS for item in items):
        return f"has an entry over {MAX_FURNITURE_CHARS:,} characters", None
    return None, [str(item) for item in items]


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    return f"a {type(value).__name__}"
