"""The moderators' report on a collection over a period (``/report``, ``onrecord report``).

What members asked that the sources did not cover, grouped when they ask the same thing (the model's
vectors, leader clustering at `CLUSTER_COSINE`), with counts and the closest source the search found;
the answers voted "not helpful" and the excerpts flagged; the sources and speakers quoted most; the
share of questions answered, day by day (week by week over more than a month). Computed from the
collection's question log and feedback (`feedback.Feedback`); blocking.

It is cheap: one batch of embeddings for the distinct unanswered questions (at most `MAX_CLUSTERED`,
the most asked; repeated questions come from the cache of question vectors) and a pass over the log.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .feedback import FLAG_KINDS, Feedback, Flag, Pin, Vote
from .library import QueryVectors
from .models import normalised

# Two unanswered questions this close (cosine) ask the same thing. Set by hand on all-MiniLM-L6-v2:
# rewordings score 0.88-0.98 ("How do I bake sourdough bread?" / "how to bake sourdough bread";
# "Who won the 2022 World Cup?" / "Which team won the world cup in 2022?"), a question on the same
# topic that asks something else 0.71 ("What's a good recipe for sourdough?"), other topics under 0.3.
CLUSTER_COSINE = 0.75
MAX_CLUSTERED = 1000
TOP = 10

Vectors = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Gap:
    """Questions the sources did not cover that ask the same thing."""

    question: str  # the wording asked most often
    count: int
    wordings: list[str]  # the other wordings, the most asked first
    closest: str | None  # the title of the source the search found closest most often, if any
    closest_doc: str | None


@dataclass(frozen=True)
class Disliked:
    """An answer members voted on, with at least one "not helpful"."""

    question: str
    helpful: int
    not_helpful: int
    sources: list[str]  # the titles it quoted


@dataclass(frozen=True)
class Flagged:
    """One excerpt members flagged, and how many did."""

    kind: str
    count: int
    question: str
    doc_id: str
    title: str
    speaker: str | None
    quote: str
    start: int
    end: int

    @property
    def label(self) -> str:
        return FLAG_KINDS.get(self.kind, self.kind)


@dataclass(frozen=True)
class Share:
    """Questions asked and answered in one day (or week, from ``start``)."""

    start: dt.date
    asked: int
    answered: int


@dataclass(frozen=True)
class FeedbackReport:
    collection: str
    since: dt.datetime
    until: dt.datetime
    logging: bool  # whether the question log is on (off: only feedback and pins to report)
    log_days: float
    asked: int = 0
    answered: int = 0
    pinned: int = 0  # questions answered with a pinned excerpt first
    helpful: int = 0
    not_helpful: int = 0
    gaps: list[Gap] = field(default_factory=list)
    unanswered: int = 0
    disliked: list[Disliked] = field(default_factory=list)
    flagged: list[Flagged] = field(default_factory=list)
    sources: list[tuple[str, int]] = field(default_factory=list)
    speakers: list[tuple[str, int]] = field(default_factory=list)
    shares: list[Share] = field(default_factory=list)
    weekly: bool = False  # whether ``shares`` are weeks
    pins: list[Pin] = field(default_factory=list)

    @property
    def answered_share(self) -> float | None:
        return self.answered / self.asked if self.asked else None


def question_vectors(queries: QueryVectors) -> Vectors:
    """Unit vectors of questions: from the cache of question vectors when there, the rest in one batch."""

    def vectors(texts: Sequence[str]) -> np.ndarray:
        found = [queries.cached(t) for t in texts]
        missing = [t for t, v in zip(texts, found, strict=True) if v is None]
        if missing:
            fresh = iter(queries.embedder.embed(list(missing)))
            found = [v if v is not None else next(fresh) for v in found]
        if not found:
            return np.zeros((0, 1), dtype=np.float32)
        matrix = np.stack([np.asarray(v, dtype=np.float32).reshape(-1) for v in found])
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.where(norms == 0, 1, norms)

    return vectors


def build_report(
    feedback: Feedback, vectors: Vectors, *, collection: str, days: float, now: dt.datetime | None = None
) -> FeedbackReport:
    """The report of the last ``days`` days up to ``now`` (default: the clock)."""
    until = now or dt.datetime.fromtimestamp(feedback.clock(), dt.UTC)
    since = until - dt.timedelta(days=days)
    span = (since.timestamp(), until.timestamp() + 1e-3)
    questions = feedback.questions(*span)
    votes = feedback.votes(*span)
    flags = feedback.flags(*span)
    answered = [q for q in questions if q.answered]
    unanswered = [q for q in questions if not q.answered]
    sources: Counter[str] = Counter()
    speakers: Counter[str] = Counter()
    for question in answered:
        sources.update({e["title"] for e in question.excerpts})
        speakers.update({e["speaker"] for e in question.excerpts if e.get("speaker")})
    weekly = days > 31
    return FeedbackReport(
        collection=collection, since=since, until=until, logging=feedback.logging, log_days=feedback.log_days,
        asked=len(questions), answered=len(answered), pinned=sum(q.pinned for q in questions),
        helpful=sum(v.helpful for v in votes), not_helpful=sum(not v.helpful for v in votes),
        gaps=_gaps([(q.question, q.closest) for q in unanswered], vectors), unanswered=len(unanswered),
        disliked=_disliked(votes), flagged=_flagged(flags),
        sources=sources.most_common(TOP), speakers=speakers.most_common(TOP),
        shares=_shares([(q.asked, q.answered) for q in questions], since, until, weekly), weekly=weekly,
        pins=feedback.pins(),
    )  # fmt: skip


def _gaps(asked: Sequence[tuple[str, list[dict[str, object]]]], vectors: Vectors) -> list[Gap]:
    """The unanswered questions grouped: each distinct question (normalised) joins the first group
    whose leader is within `CLUSTER_COSINE`, the most asked first, so the leader is the commonest."""
    wordings: dict[str, Counter[str]] = defaultdict(Counter)
    closest: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    for text, near in asked:
        key = normalised(text)
        wordings[key][text] += 1
        if near:
            closest[key][(str(near[0].get("title", "")), str(near[0].get("doc_id", "")))] += 1
    distinct = sorted(wordings, key=lambda k: -sum(wordings[k].values()))[:MAX_CLUSTERED]
    if not distinct:
        return []
    matrix = vectors([wordings[k].most_common(1)[0][0] for k in distinct])
    groups: list[list[str]] = []
    leaders: list[int] = []
    for row, key in enumerate(distinct):
        if leaders:
            cosines = matrix[leaders] @ matrix[row]
            best = int(np.argmax(cosines))
            if float(cosines[best]) >= CLUSTER_COSINE:
                groups[best].append(key)
                continue
        leaders.append(row)
        groups.append([key])
    gaps = []
    for members in groups:
        said: Counter[str] = Counter()
        nearest: Counter[tuple[str, str]] = Counter()
        for key in members:
            said.update(wordings[key])
            nearest.update(closest[key])
        ranked = [text for text, _ in said.most_common()]
        title, doc = nearest.most_common(1)[0][0] if nearest else (None, None)
        gaps.append(Gap(ranked[0], sum(said.values()), ranked[1:6], title or None, doc or None))
    return sorted(gaps, key=lambda g: -g.count)


def _disliked(votes: Sequence[Vote]) -> list[Disliked]:
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    about: dict[str, tuple[str, list[str]]] = {}
    for vote in votes:
        tally[vote.answer][0 if vote.helpful else 1] += 1
        about[vote.answer] = (vote.question, list(dict.fromkeys(e["title"] for e in vote.excerpts)))
    rows = [Disliked(about[a][0], up, down, about[a][1]) for a, (up, down) in tally.items() if down]
    return sorted(rows, key=lambda d: (-d.not_helpful, d.helpful))


def _flagged(flags: Sequence[Flag]) -> list[Flagged]:
    counts: Counter[tuple[str, str | None, str, int, int]] = Counter()
    latest: dict[tuple[str, str | None, str, int, int], Flag] = {}
    for flag in flags:
        key = (flag.kind, flag.collection, flag.doc_id, flag.start, flag.end)
        counts[key] += 1
        latest[key] = flag
    return [
        Flagged(f.kind, count, f.question, f.doc_id, f.title, f.speaker, f.quote, f.start, f.end)
        for key, count in counts.most_common()
        for f in (latest[key],)
    ]


def _shares(asked: Sequence[tuple[float, bool]], since: dt.datetime, until: dt.datetime, weekly: bool) -> list[Share]:
    """Asked and answered per day of the period (per week, from Monday, when ``weekly``), empty ones too."""

    def bucket(day: dt.date) -> dt.date:
        return day - dt.timedelta(days=day.weekday()) if weekly else day

    counts: dict[dt.date, list[int]] = {}
    day, last = bucket(since.date()), bucket(until.date())
    while day <= last:
        counts[day] = [0, 0]
        day += dt.timedelta(days=7 if weekly else 1)
    for at, answered in asked:
        slot = counts.setdefault(bucket(dt.datetime.fromtimestamp(at, dt.UTC).date()), [0, 0])
        slot[0] += 1
        slot[1] += int(answered)
    return [Share(start, a, b) for start, (a, b) in sorted(counts.items())]
