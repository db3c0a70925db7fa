"""The period a question is about, read from its time words against the day it is asked.

News questions say when they mean: "this week", "recently", "the latest", "this year", "in 2021",
"last month". `period` turns those words into a range of publication dates, counted back from the
day of asking, so the ranking can prefer sources published then (see `search`, the ``in_period``
feature). A question without such words has no period: every date is as good as another.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """The publication dates a question is about, inclusive."""

    first: dt.date
    last: dt.date

    def holds(self, day: dt.date) -> bool:
        return self.first <= day <= self.last


def _back(now: dt.date, days: int) -> Period:
    return Period(now - days * _DAY, now)


def _year(year: int, now: dt.date) -> Period:
    return Period(dt.date(year, 1, 1), min(dt.date(year, 12, 31), now))


def _named_year(now: dt.date, match: re.Match[str]) -> Period | None:
    year = int(match.group(2))
    if year > now.year:
        return None  # a plan or a forecast ("by 2030"): no source is dated then
    return Period(dt.date(year, 1, 1), now) if match.group(1) == "since" else _year(year, now)


Rule = Callable[[dt.date, re.Match[str]], Period | None]

# Each rule: a pattern and the period it means when asked on ``now``. The first rule that matches wins,
# so the narrower readings come first.
_RULES: list[tuple[re.Pattern[str], Rule]] = [
    (re.compile(r"\b(?:today|tonight|this morning|this afternoon)\b"), lambda now, m: _back(now, 1)),
    (re.compile(r"\byesterday\b"), lambda now, m: Period(now - 2 * _DAY, now)),
    (
        re.compile(r"\b(?:this|past|last|previous) (?:week|weekend)\b|\b(?:past|last) (?:few|several) days\b"),
        lambda now, m: _back(now, 8),
    ),
    (re.compile(r"\b(?:this|past) month\b|\b(?:past|last) (?:few|several) weeks\b"), lambda now, m: _back(now, 31)),
    (re.compile(r"\blast month\b"), lambda now, m: _back(now, 62)),
    (
        re.compile(r"\b(?:recent|recently|lately|latest|newest|most recent|just|currently|upcoming)\b"),
        lambda now, m: _back(now, 31),
    ),
    (re.compile(r"\bthis (?:year|season)\b"), lambda now, m: _year(now.year, now)),
    (re.compile(r"\blast year\b"), lambda now, m: _year(now.year - 1, now)),
    (re.compile(r"\b(in|during|of|for|since) (?:early |late |mid-?)?(?:[a-z]+ )?((?:19|20)\d\d)\b(?!s)"), _named_year),
]


def period(question: str, now: dt.date) -> Period | None:
    """The publication dates ``question`` asks about when asked on ``now``; None if it names no time."""
    text = question.lower()
    for pattern, rule in _RULES:
        match = pattern.search(text)
        if match:
            found = rule(now, match)
            if found is not None:
                return found
    return None
