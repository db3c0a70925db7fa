"""Who says a sentence: direct quotations and the speakers news prose attributes them to.

News writing marks speech with quotation marks and a speech cue beside them: a speech verb with its
subject ("…,” Dhillon said.", "…,” said spokesman Josh Schwerin", "Rep. John Mica (R-Fla.) said: “…”"),
a dash byline ("“…” ― Pamela Padilla") or a transcript label ("PENCE: Well, look…"). The paragraph is
read as tokens with its quotations blanked out, so a name inside a quotation is never its speaker, and
each cue is parsed from its verb outwards: the subject to the left (past appositives, party tags and
"of Indiana"), or, only where the verb follows the quotation ("…,” said the Rev. Al Sharpton"), the
name to the right. The person spoken to ("she told AFP") is never the speaker.

A quotation without a cue of its own takes the speaker of its paragraph, or continues the previous
paragraph's when it opens the paragraph and the previous one ended in a quotation. A pronoun ("…,” she
said.") is resolved only when the evidence is clear: the previous quotation's speaker in the same
stretch of text and the last person named at the start of a sentence agree, or only one of them exists.
"He" or "she" never takes a person of the other sex, as titles ("Mrs."), the first name (US Census 1990
first-name lists, shipped by the `names` package) or pronouns beside the name show it; a full name's
own first name decides for that mention ("Jane Sanders" beside Bernie Sanders). A quotation earlier in
the same paragraph is a previous quotation too, and a name inside a reported clause ("said Trump
continued to …") opens no sentence. A sentence
"opens" with a person past opening words, an introductory phrase and its comma, and descriptors ("On
Thursday, Sanders …", "Former Pennsylvania governor Ed Rendell …"). A colon opening a quotation names
its speaker ("Clinton: “…”", "Mitch McConnell … delivered a blunt message: “…”"), and a paragraph that is
one quotation continues a paragraph that ended in reported speech.

A name is cut to the person: sentence-opening words, descriptors and titles before it are dropped
("When House Speaker Paul Ryan" -> "Paul Ryan"), possessives end it ("Clinton’s"), weekdays and months
are never names. A surname alone is expanded to the full name from a real mention of that person in
the text (never a headline, never a possessive such as "CNN’s Jake Tapper"); a surname that two
people share in the text, or a "Mrs." whose only full name is someone else's, stays as written.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources

from .models import Sentence, Span

# bump when what `speakers` returns changes: indexes built with another version are rebuilt
VERSION = 5
_BLANK = "\u2592"  # stands for quoted text in the narration
_OPENERS = '“"«'
_CLOSERS = '”"»'
_MIN_QUOTE_WORDS = 4
_CUE_GAP = 160  # characters between a cue and the quotation it introduces, within one sentence

_TOKEN = re.compile(
    rf"""
    (?P<quote>{_BLANK}+)
    | (?P<tag>\b[RDI]-(?:[A-Z]\.[A-Z]|[A-Z][a-z]{{1,5}}|[A-Z])(?:\.(?=[,)]))?)  # a party tag, "R-Wis.,"
    | (?P<initials>(?:[A-Z]\.){{2,}})
    | (?P<abbr>\b(?:Rep|Sen|Gov|Dr|Mr|Mrs|Ms|Rev|Lt|Gen|Col|Jr|Sr|St|Prof|Capt|Sgt|Fr|Adm|Maj|Cmdr|Sec|Atty|Supt)\.)
    | (?P<initial>\b[A-Z]\.)
    | (?P<word>[^\W\d_][\w]*(?:[’'\-][\w]+)*)
    | (?P<punct>[^\s\w])
    """,
    re.VERBOSE,
)


def _words(text: str) -> frozenset[str]:
    """A word list written as running text, which keeps long vocabularies readable."""
    return frozenset(text.split())


_VERBS = _words(
    """
    acknowledged added adds admitted affirmed agreed agrees allowed announced announces answered argued argues asked
    asks assured blogged boasted bragged cautioned chimed claimed claims commented complained conceded concluded
    concludes confirmed continued continues countered declared demanded echoed elaborated emailed emphasized
    exclaimed explained explains fumed gushed hinted insisted insists interjected joked lamented marveled mocked
    mocks mused noted notes objected observed offered opined pleaded posted predicted proclaimed promised protested
    quipped raged reasoned recalled recalls recounted reiterated remarked repeated remembered replied replies
    reported reports responded responds retorted riffed said say says scoffed scolded shouted sighed snapped
    speculated stated states stressed suggested surmised tells testified texted thundered told tweeted tweets urged
    volunteered vowed warned warns whispered wondered writes wrote yelled
    """
)
# -ing forms hang off the clause's subject: "Trump tweeted Sunday, saying “…”"
_ING_VERBS = {
    "saying", "adding", "writing", "noting", "explaining", "arguing", "asking", "insisting", "declaring",
    "warning", "tweeting", "telling", "stating", "calling", "concluding", "responding", "replying",
}  # fmt: skip
# two-word speech verbs: "Hillary shot back, “…”"
_PHRASAL = {
    "shot": "back", "fired": "back", "pointed": "out", "went": "on", "spoke": "up", "chimed": "in", "put": "it",
}  # fmt: skip
# verbs whose right-hand person is the one spoken to, never the speaker
_TO_LISTENER = {"told", "tells", "telling", "asked", "asks", "asking", "urged", "emailed", "texted"}
_PRONOUNS = {"he": "m", "she": "f"}
_OTHER_PRONOUNS = {"they", "i", "we", "it", "you", "this", "that", "who", "which"}
_SKIP_BEFORE_VERB = _words(
    """
    again already also always earlier even finally first further had has have just later never now often once only
    previously recently repeatedly reportedly simply still subsequently then will would
    """
)
_DESCRIPTORS = _words(
    """
    former developer businessman businesswoman billionaire actress actor host anchor columnist writer author activist
    hopeful rival nominee mogul star pollster economist professor lawmaker congressman congresswoman senator
    governor mayor candidate presidential chairman chairwoman president secretary spokesman spokeswoman leader
    director strategist adviser advisor attorney lawyer chief executive founder co-founder commentator analyst
    rapper singer comedian reporter correspondent editor judge businessman investor donor voter resident
    rep. sen. gov. front-runner frontrunner manager consultant
    """
)
_INTRO_WORDS = {
    "Just", "Speaking", "Asked", "Addressing", "Responding", "Earlier", "Later", "Meanwhile", "Still", "Today",
    "Yesterday", "Tonight", "Now", "Instead", "However", "Indeed", "Moreover", "Last", "Next", "This", "Then",
    "Hours", "Days", "Weeks", "Months", "Years", "Minutes", "Moments",  # "Hours later, Trump …"
}  # fmt: skip
_INTRO_OPENERS = _words(
    """
    of for at in from with by on to about against after before when while as since during until like unlike
    despite although though because if once amid among following
    """
)
_INTRO_MAX = 16  # tokens of an introductory phrase before its comma
# "in Salem, New Hampshire, Trump said": a state after a town's comma belongs to the introductory phrase
_STATES = _words(
    """
    Alabama Alaska Arizona Arkansas California Colorado Connecticut Delaware Florida Georgia Hawaii Idaho
    Illinois Indiana Iowa Kansas Kentucky Louisiana Maine Maryland Massachusetts Michigan Minnesota Mississippi
    Missouri Montana Nebraska Nevada Ohio Oklahoma Oregon Pennsylvania Tennessee Texas Utah Vermont Virginia
    Washington Wisconsin Wyoming
    """
) | {
    "New Hampshire", "New Jersey", "New Mexico", "New York", "North Carolina", "North Dakota", "Rhode Island",
    "South Carolina", "South Dakota", "West Virginia", "D.C.", "N.H.", "N.Y.", "N.J.", "S.C.", "N.C.", "Va.",
    "Fla.", "Calif.", "Ill.", "Pa.", "Mich.", "Wis.", "Ohio", "Ga.", "Mass.", "Md.", "Ariz.", "Colo.", "Nev.",
}  # fmt: skip
_FUNCTION = {
    "The", "A", "An", "He", "She", "They", "It", "We", "I", "You", "But", "And", "In", "On", "At", "As", "If",
    "This", "That", "These", "Those", "His", "Her", "Their", "Its", "Our", "My", "When", "While", "After",
    "Before", "For", "So", "Yet", "Or", "Then", "There", "What", "Who", "Why", "How", "Where", "Since",
    "Although", "Though", "Because", "Meanwhile", "Still", "Now", "Later", "Earlier", "Asked", "Instead",
    "Also", "Even", "Yes", "No", "Well", "Oh", "Here", "Today", "Tonight", "Yesterday", "Last", "Next",
    "Like", "Unlike", "With", "Without", "From", "To", "By", "Of", "Until", "During", "Over", "Under",
    "Indeed", "However", "Moreover", "Both", "Each", "Every", "Many", "Some", "Most", "Several", "Others",
    "Thus", "Hence", "Perhaps", "Maybe", "Dear", "Sources", "Officials", "Speaking", "According",
}  # fmt: skip
_TITLES = {
    "Rep.", "Sen.", "Gov.", "Dr.", "Mr.", "Mrs.", "Ms.", "Rev.", "Lt.", "Gen.", "Col.", "Prof.", "Capt.",
    "Sgt.", "Fr.", "Adm.", "Maj.", "Cmdr.", "Sec.", "Atty.", "Supt.", "President", "Vice", "Secretary",
    "Speaker", "Leader", "Senator", "Representative", "Congressman", "Congresswoman", "Governor", "Mayor",
    "Judge", "Justice", "Chief", "Chairman", "Chairwoman", "Chair", "Director", "Attorney", "General",
    "Former", "Sheriff", "Commissioner", "Ambassador", "Minister", "Prime", "Chancellor", "King", "Queen",
    "Prince", "Princess", "Pope", "Rabbi", "Bishop", "Cardinal", "Father", "Sister", "Brother", "Reverend",
    "Pastor", "Professor", "Officer", "Detective", "Councilman", "Councilwoman", "Alderman", "Del.",
    "Majority", "Minority", "Whip", "Spokesman", "Spokeswoman", "Spokesperson", "CEO", "Sergeant",
    "Lieutenant", "Colonel", "Captain", "Admiral", "Trooper", "Assemblyman", "Assemblywoman", "Dean",
    "Founder", "Chairperson", "Executive", "Superintendent", "Candidate", "Nominee", "Commander",
    "Democrat", "Republican", "Democratic", "GOP", "Independent", "Press", "Campaign", "House", "Senate",
    "State", "U.S.", "Sens.", "Reps.", "Gov", "Sen", "Rep", "Dr", "Mr", "Mrs", "Ms", "Miss", "Madam",
}  # fmt: skip
_HONORIFICS = {"Mr.": "m", "Mr": "m", "Mrs.": "f", "Mrs": "f", "Ms.": "f", "Ms": "f", "Miss": "f"}
_PARTICLES = {"de", "del", "la", "van", "von", "bin", "al", "da", "di", "le", "du", "der", "den", "dos", "ibn"}
_SUFFIXES = {"Jr.", "Sr.", "II", "III", "IV"}
_NOT_NAMES = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "January", "February",
    "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
    "Jan.", "Feb.", "Mar.", "Apr.", "Aug.", "Sept.", "Sep.", "Oct.", "Nov.", "Dec.", "Today", "Tonight",
    "Yesterday", "Americans", "American", "Democrats", "Republicans", "Washington", "Twitter", "Facebook",
}  # fmt: skip
_ROLES = {
    "spokesperson", "spokesman", "spokeswoman", "official", "officials", "representative", "statement",
    "source", "sources", "analyst", "expert", "agency", "department", "aide", "aides", "adviser", "advisor",
    "strategist", "campaign", "lawyer", "attorney", "spokespeople", "release", "memo", "letter", "report",
    "email", "organizer", "operative", "staffer", "supporter", "voter", "member", "leader", "executive",
    "officer", "committee", "group", "organization", "office", "administration", "senator", "congressman",
    "governor", "candidate", "chairman", "director", "president", "secretary", "ambassador", "minister",
    "person", "woman", "man", "commenter", "company", "newspaper", "board", "ad", "tycoon", "mogul", "businessman",
    "businesswoman", "host", "user", "account", "message", "tweet", "headline", "protesters", "demonstrators",
    "editorial", "judge", "resident", "veteran", "mother", "father", "friend", "neighbor", "student", "worker",
    # people named by what they do ("the investor said", "said the Democratic nominee")
    "lawmaker", "economist", "professor", "activist", "pollster", "columnist", "writer", "author", "investor",
    "nominee", "anchor", "reporter", "correspondent", "editor", "donor", "founder", "commentator", "manager",
    "consultant", "employee", "colleague", "husband", "wife", "son", "daughter", "child", "brother", "sister",
}  # fmt: skip
_ORGANISATIONS = _words(
    """
    Foundation Institute Center Centre Party Committee Association University College Council News Times Group
    Company Corporation Inc. Department Agency Administration Commission Bureau Network Project Fund Society League
    Union Coalition Campaign Caucus Club Board Court Senate House Congress Journal Magazine Press Review Institution
    """
)
_DETERMINERS = {"a", "an", "the", "another", "one", "this"}
_STOP_RIGHT = {
    "that", "who", "which", "when", "in", "on", "at", "to", "during", "after", "before", "as", "while",
    "because", "and", "but", "of", "from", "with", "for", "about", "via", "through", "since", "if", "said",
}  # fmt: skip
_SENTENCE_END = {".", "!", "?"}
_PREPOSITIONS = {"of", "for", "at", "in", "from", "with", "by", "on", "to", "about", "against"}
_DASHES = {"―", "—", "–", "-"}


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    text: str
    kind: str


@dataclass
class _Quote:
    start: int
    end: int
    closed: bool
    speaker: str | None = None
    via: str = ""  # "named", "pronoun", "nominal", "paragraph", "continued"


@dataclass(frozen=True)
class _Cue:
    start: int  # the span of the cue in the text (subject and verb)
    end: int
    kind: str  # "named", "pronoun", "nominal"
    name: str  # a person's name as written, a pronoun, or a nominal phrase
    inverted: bool = False  # the verb follows a quotation: "…,” said X"
    forward: bool = False  # it introduces the quotation after it ("X:"), never names the one before
    needs_person: bool = False  # its name counts only if the text uses it for a person elsewhere


@dataclass
class _Mention:
    position: int
    surname: str
    subject: bool  # opens its sentence
    name: str = ""  # as written, when it is a full name ("Jane Sanders")


@dataclass
class _Paragraph:
    span: Span
    quotes: list[_Quote]
    tokens: list[_Token]
    cues: list[_Cue] = field(default_factory=list)
    label: str | None = None  # a transcript label ("PENCE:")


def speakers(text: str, paras: Sequence[Span], sents: Sequence[Sentence]) -> list[str | None]:
    """The speaker of each sentence that is, or sits inside, a direct quotation; else None."""
    parsed = [_parse(text, para) for para in paras]
    names = _Names(text, paras, parsed)
    _attribute(parsed, names)
    quoted = [(q, q.speaker) for p in parsed for q in p.quotes if q.speaker]
    result: list[str | None] = []
    for sent in sents:
        speaker = None
        for quote, name in quoted:
            if quote.start < sent.end and sent.start < quote.end:
                speaker = name
                break
        result.append(speaker)
    return result


# -- quotations and tokens ---------------------------------------------------------------------------


def _quotes(text: str, para: Span) -> list[_Quote]:
    """Spoken quotations of a paragraph, marks included; an unclosed one runs to the paragraph's end.

    A straight mark opens where it follows a space or the paragraph's start and closes elsewhere, so a
    straight opening closed by a curly mark ("…” said David Gorski") ends where the writer ended it.
    """
    quotes: list[_Quote] = []
    i = para.start
    while i < para.end:
        if _opens(text, i, para.start):
            close = next((j for j in range(i + 1, para.end) if _closes(text, j, para.start)), -1)
            end, closed = (para.end, False) if close < 0 else (close + 1, True)
            inner = text[i + 1 : end - 1 if closed else end]
            if _is_speech(inner) or (closed and _introduced(text[para.start : i])):
                quotes.append(_Quote(i, end, closed))
            i = end
        else:
            i += 1
    return quotes


def _opens(text: str, i: int, para_start: int) -> bool:
    ch = text[i]
    if ch not in _OPENERS:
        return False
    if ch != '"':
        return True
    before = text[i - 1] if i > para_start else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return (before.isspace() or before in "([—–-/:") and not after.isspace()


def _closes(text: str, j: int, para_start: int) -> bool:
    ch = text[j]
    if ch not in _CLOSERS or ch == "«":
        return False
    return ch != '"' or not _opens(text, j, para_start)


def _is_speech(inner: str) -> bool:
    """Four words or more, or a shorter utterance ending in a comma, question or exclamation mark."""
    words = inner.split()
    if len(words) >= _MIN_QUOTE_WORDS:
        return True
    return bool(words) and inner.rstrip()[-1:] in ",?!…"


_LAST_WORDS = re.compile(r"([^.!?“”\"]*?)\s*([,:]?)\s*$")


def _introduced(before: str) -> bool:
    """A speech verb introduces what follows: "Priebus said, “Probably.”", "told Reuters simply, “We lost.”".

    A short utterance ending in a full stop is speech when a speech verb among the last six words of the
    narration before it is followed by a comma or a colon, or stands right before it ("by saying “Too
    many.”"); without them ("said the plan was “dead.”") the words are the writer's.
    """
    match = _LAST_WORDS.search(before[-120:])
    if match is None:
        return False
    words = [w.lower() for w in re.findall(r"[^\W\d_][\w’'\-]*", match.group(1))][-6:]
    if not words:
        return False
    if match.group(2):
        return any(w in _VERBS or w in _ING_VERBS for w in words)
    return words[-1] in _VERBS or words[-1] in _ING_VERBS


def _tokens(narration: str, offset: int) -> list[_Token]:
    found = []
    for match in _TOKEN.finditer(narration):
        kind = match.lastgroup or "punct"
        found.append(_Token(offset + match.start(), offset + match.end(), match.group(), kind))
    return found


def _parse(text: str, para: Span) -> _Paragraph:
    quotes = _quotes(text, para)
    label = _transcript_label(text, para) if not quotes else None
    if label is not None:
        colon = text.index(":", para.start)
        quotes = [_Quote(colon + 1, para.end, True)]
    chars = list(text[para.start : para.end])
    for quote in quotes:
        for k in range(quote.start - para.start, quote.end - para.start):
            chars[k] = _BLANK
    tokens = _tokens("".join(chars), para.start)
    paragraph = _Paragraph(para, quotes, tokens, label=label)
    paragraph.cues = _cues(tokens)  # also where nothing is quoted: it tells who the people are
    return paragraph


_LABEL = re.compile(r"([A-Z][A-Z’'\-]+(?: [A-Z][A-Z’'\-]+)?):\s+\S")


def _transcript_label(text: str, para: Span) -> str | None:
    match = _LABEL.match(text, para.start, para.end)
    return match.group(1) if match else None


# -- cues --------------------------------------------------------------------------------------------


def _is_name_part(token: _Token) -> bool:
    if token.kind in ("initials", "initial", "abbr"):
        return True
    if token.kind != "word" or not token.text[0].isupper():
        return False
    return not _possessive(token.text)


def _possessive(word: str) -> bool:
    return word.endswith(("’s", "'s", "s’", "s'"))


def _cues(tokens: Sequence[_Token]) -> list[_Cue]:
    cues: list[_Cue] = []
    for v, token in enumerate(tokens):
        if token.kind != "word":
            continue
        low = token.text.lower()
        phrasal = v + 1 < len(tokens) and _PHRASAL.get(low) == tokens[v + 1].text
        if phrasal:
            cue = _left_cue(tokens, v)
            if cue is not None:
                cues.append(cue)
        elif low in _VERBS or (low == "according" and v + 1 < len(tokens) and tokens[v + 1].text == "to"):
            cue = _left_cue(tokens, v) if low != "according" else None
            inverted = _follows_quote(tokens, v)
            # "…?” asked Sen. Maria Cantwell": inverted, the one asking is the speaker
            listener = low in _TO_LISTENER and not (inverted and low in ("asked", "asks"))
            if cue is None and not listener and (inverted or low == "according"):
                cue = _right_cue(tokens, v + (2 if low == "according" else 1), inverted)
            if cue is not None:
                cues.append(cue)
        elif low in _ING_VERBS and v > 0 and tokens[v - 1].text in (",", "—", "–", "by"):  # "ended by saying"
            cue = _sentence_subject(tokens, v)
            if cue is not None:
                # 'She followed that by saying, “…”': it introduces the quotation after it, never the one before
                ahead = v + 1 + (v + 1 < len(tokens) and tokens[v + 1].text in (",", ":"))
                if ahead < len(tokens) and tokens[ahead].kind == "quote":
                    cue = _Cue(cue.start, cue.end, cue.kind, cue.name, cue.inverted, True, cue.needs_person)
                cues.append(cue)
    cues.extend(_dash_bylines(tokens))
    cues.extend(_colon_cues(tokens, cues))
    return sorted(cues, key=lambda c: c.start)


def _colon_cues(tokens: Sequence[_Token], cues: Sequence[_Cue]) -> list[_Cue]:
    """A colon opening a quotation where no speech verb names the speaker: a name right before it
    ("Clinton: “…”", "Pollsters agree - Carl Bialik: “…”"), or a sentence whose subject is a person
    ("Mitch McConnell, R-Ky., delivered a blunt message to Trump: “…”")."""
    found = []
    for i, token in enumerate(tokens):
        if token.kind != "quote" or i < 2 or tokens[i - 1].text != ":":
            continue
        colon = i - 1
        start = _sentence_start(tokens, colon)
        if any(tokens[start].start <= c.start and c.end <= tokens[colon].end for c in cues):
            continue
        first = _run_back(tokens, colon - 1)
        if first is not None and (first == start or tokens[first - 1].text in _DASHES):
            name = _clean([t.text for t in tokens[first:colon]])
            if name:
                # a label opening its sentence ("UPDATE:") names a speaker only if the text has that person
                label = first == start
                found.append(
                    _Cue(tokens[first].start, tokens[colon].end, "named", name, forward=True, needs_person=label)
                )
            continue
        cue = _subject_cue(tokens, start, colon)
        if cue is not None:
            found.append(_Cue(cue.start, cue.end, cue.kind, cue.name, forward=True, needs_person=True))
    return found


def _follows_quote(tokens: Sequence[_Token], v: int) -> bool:
    k = v - 1
    # a stray title between them ("…,” Dr. said Wanda Felbab-Brown") is a slip of the writer's
    while k >= 0 and tokens[k].kind == "abbr":
        k -= 1
    # "… get nervous, said Christine Link": the inverted verb also follows a clause and its comma
    return k >= 0 and (tokens[k].kind == "quote" or tokens[k].text == ",")


def _left_cue(tokens: Sequence[_Token], v: int) -> _Cue | None:
    """The subject of the speech verb at ``v``: a name, a pronoun or a nominal phrase."""
    j = v - 1
    while (j >= 0 and tokens[j].text.lower() in _SKIP_BEFORE_VERB) or (
        j >= 0 and tokens[j].text.endswith("ly") and tokens[j].text.islower()
    ):
        j -= 1
    j = _skip_back(tokens, j)
    if j < 0:
        return None
    verb = tokens[v]
    last = tokens[j]
    low = last.text.lower()
    if last.kind == "word" and low in _PRONOUNS and (j == 0 or tokens[j - 1].text != "’"):
        return _Cue(last.start, verb.end, "pronoun", low)
    if last.kind == "word" and last.text.islower() and low in _ROLES:
        return _nominal(tokens, j, verb)
    if low == "who" and j >= 2 and tokens[j - 1].text == ",":
        return _who_clause(tokens, j - 2, verb)
    run = _run_back(tokens, j)
    if run is None:
        return None
    first = run
    # "Mike Pence of Indiana told": the place after "of" is not the speaker
    if first >= 2 and tokens[first - 1].text in ("of", "from") and _is_name_part(tokens[first - 2]):
        outer = _run_back(tokens, first - 2)
        if outer is not None:
            first, j = outer, first - 2
    if first > 0 and tokens[first - 1].text in _PREPOSITIONS:
        return None  # "Jeffrey Lewis of the Center for Nonproliferation Studies wrote": a place, not him
    name = _clean([t.text for t in tokens[first : j + 1]])
    if name is None:
        return None
    if first > 0 and tokens[first - 1].text.lower() in _DETERMINERS and not _has_title(tokens[first : j + 1]):
        return _Cue(tokens[first - 1].start, verb.end, "nominal", _span_text(tokens, first - 1, j))
    return _Cue(tokens[first].start, verb.end, "named", name)


def _who_clause(tokens: Sequence[_Token], j: int, verb: _Token) -> _Cue | None:
    """ "from Mike Lee, who declared …, “…”": the name a relative clause's speech verb hangs off.

    The name may follow a preposition here: the clause makes it the speaker, whatever the sentence does.
    """
    first = _run_back(tokens, j)  # None for a possessive ("Lopez’s staff, who said"): not a name
    if first is None:
        return None
    if first > 0 and tokens[first - 1].text.lower() in _DETERMINERS and not _has_title(tokens[first : j + 1]):
        return None
    name = _clean([t.text for t in tokens[first : j + 1]])
    return _Cue(tokens[first].start, verb.end, "named", name) if name else None


def _skip_back(tokens: Sequence[_Token], j: int) -> int:
    """Step left over a party tag "(R-Fla.)", an appositive ", a former agent," or ", R-Wis.,"."""
    for _ in range(2):
        if j >= 0 and tokens[j].text == ")":
            k = j - 1
            while k >= 0 and tokens[k].text != "(" and j - k < 10:
                k -= 1
            if k >= 0 and tokens[k].text == "(":
                j = k - 1
        if j >= 1 and tokens[j].text == ",":
            k = j - 1
            while k >= 0 and tokens[k].text != "," and tokens[k].kind != "quote" and j - k < 25:
                if tokens[k].text in _SENTENCE_END and tokens[k].kind == "punct":
                    break
                k -= 1
            if k >= 1 and tokens[k].text == "," and tokens[k - 1].kind != "quote":
                j = k - 1
    return j


def _run_back(tokens: Sequence[_Token], j: int) -> int | None:
    """Index of the first token of the name run ending at ``j``, or None when ``j`` is not in a name."""
    if j < 0 or not _is_name_part(tokens[j]) or (tokens[j].text in _SUFFIXES and j == 0):
        return None
    k = j
    while k - 1 >= 0 and (
        _is_name_part(tokens[k - 1])
        or (tokens[k - 1].text in _PARTICLES and k - 2 >= 0 and _is_name_part(tokens[k - 2]))
        or (tokens[k - 1].text == "," and tokens[k].text in _SUFFIXES)
    ):
        k -= 1
    return k


def _run_forward(tokens: Sequence[_Token], k: int) -> int:
    """Index of the last token of the name run starting at ``k``."""
    j = k
    while j + 1 < len(tokens) and (
        _is_name_part(tokens[j + 1])
        or (tokens[j + 1].text in _PARTICLES and j + 2 < len(tokens) and _is_name_part(tokens[j + 2]))
    ):
        j += 1
    return j


def _right_cue(tokens: Sequence[_Token], k: int, inverted: bool) -> _Cue | None:
    """ "…,” said spokesman Josh Schwerin" / "said the Rev. Al Sharpton" / "said a senior Cruz adviser"."""
    start = k
    determiner = start < len(tokens) and tokens[start].text.lower() in _DETERMINERS
    limit = min(len(tokens), k + 10)
    while k < limit:
        token = tokens[k]
        low = token.text.lower()
        stop = token.kind == "quote" or (token.kind == "punct" and token.text != "’")
        if stop or (token.kind == "word" and token.text.islower() and low in _STOP_RIGHT | _OTHER_PRONOUNS):
            break
        if token.kind == "word" and token.text.islower():
            if low in _PRONOUNS:
                return None
            k += 1
            continue
        if _possessive(token.text):
            k += 1
            continue
        if not _is_name_part(token):
            return None
        end = _run_forward(tokens, k)
        after = tokens[end + 1] if end + 1 < len(tokens) else None
        if after is not None and after.kind == "word" and after.text.islower() and after.text not in _STOP_RIGHT:
            k = end + 1  # "said Vermont governor Howard Dean": a capitalised descriptor
            continue
        if determiner and not _has_title(tokens[k : end + 1]):
            return _Cue(tokens[start].start, tokens[end].end, "nominal", _span_text(tokens, start, end), inverted)
        name = _clean([t.text for t in tokens[k : end + 1]])
        if name is None:
            return None
        return _Cue(tokens[start - 1].start, tokens[end].end, "named", name, inverted)
    appositive = _appositive_name(tokens, k, start)
    if appositive is not None:
        return appositive
    last = tokens[k - 1] if k - 1 > start else None
    if determiner and last is not None and last.text in _ROLES:
        return _Cue(tokens[start].start, last.end, "nominal", _span_text(tokens, start, k - 1), inverted)
    return None


def _appositive_name(tokens: Sequence[_Token], k: int, start: int) -> _Cue | None:
    """ "said Rubio’s deputy campaign manager, Rich Beeson, who …": the name set after a described role."""
    if k <= start or k + 1 >= len(tokens) or tokens[k].text != "," or not _is_name_part(tokens[k + 1]):
        return None
    if tokens[k - 1].text.lower() not in _ROLES | _DESCRIPTORS:
        return None  # the words before the comma must be a role ("manager"), not a clause
    end = _run_forward(tokens, k + 1)
    if end + 1 < len(tokens) and tokens[end + 1].text not in (",", ".", ";"):
        return None
    name = _clean([t.text for t in tokens[k + 1 : end + 1]])
    return _Cue(tokens[start - 1].start, tokens[end].end, "named", name, True) if name else None


def _nominal(tokens: Sequence[_Token], j: int, verb: _Token) -> _Cue | None:
    """ "a Department of Homeland Security spokesperson said": the phrase from its determiner."""
    k = j - 1
    while k >= 0 and j - k <= 8:
        token = tokens[k]
        if token.kind != "word" and token.text not in ("’", "-"):
            return None
        # "Ryan’s office said": a possessive opens the phrase as a determiner does
        # "his colleague wrote": a possessive pronoun opens the phrase too
        opener = token.text.lower() in _DETERMINERS or token.text in ("his", "her", "their")
        if opener or (_possessive(token.text) and token.text[0].isupper()):
            return _Cue(token.start, verb.end, "nominal", _span_text(tokens, k, j))
        if token.text.lower() in _STOP_RIGHT - {"of"}:
            return None
        k -= 1
    return None


def _sentence_subject(tokens: Sequence[_Token], v: int) -> _Cue | None:
    """The subject opening the sentence of an -ing speech verb: "Trump tweeted, saying “…”".

    Opening words ("And then"), an introductory phrase and its comma ("In a statement released Thursday,")
    and descriptors ("Florida developer") come before the subject.
    """
    return _subject_cue(tokens, _sentence_start(tokens, v - 1), v)


def _subject_cue(tokens: Sequence[_Token], start: int, v: int) -> _Cue | None:
    """The name or pronoun opening the sentence at ``start`` as the speaker of the cue ending at ``v``."""
    k = _subject_position(tokens, start, v)
    if k is None:
        return None
    low = tokens[k].text.lower()
    if low in _PRONOUNS:
        return _Cue(tokens[k].start, tokens[v].end, "pronoun", low)
    end = _run_forward(tokens, k)
    if end + 1 < len(tokens) and _possessive(tokens[end + 1].text):
        return None
    name = _clean([t.text for t in tokens[k : end + 1]])
    return _Cue(tokens[k].start, tokens[v].end, "named", name) if name else None


def _sentence_start(tokens: Sequence[_Token], k: int) -> int:
    while k > 0 and not _ends_sentence(tokens, k - 1):
        k -= 1
    return max(k, 0)


def _subject_position(tokens: Sequence[_Token], k: int, limit: int) -> int | None:
    """Index of the name or pronoun a sentence (or clause) starting at ``k`` opens with, before ``limit``."""
    skipped: _Token | None = None
    while k < limit and (tokens[k].text in _FUNCTION or tokens[k].text.lower() in _SKIP_BEFORE_VERB):
        if tokens[k].text.lower() in _PRONOUNS:
            return k
        skipped, k = tokens[k], k + 1
    # an opening preposition or adverb ("On", "Just") starts an introductory phrase
    after_preposition = skipped is not None and (skipped.text.lower() in _INTRO_OPENERS or skipped.text in _INTRO_WORDS)
    opener = k < limit and tokens[k].text in _INTRO_WORDS
    if (
        k < limit
        and not (after_preposition or opener)
        and _is_name_part(tokens[k])
        and tokens[k].text not in _NOT_NAMES
    ):
        end = _run_forward(tokens, k)
        if not (end + 1 < limit and tokens[end + 1].text in _DESCRIPTORS):
            return k  # "And then Trump went on the attack"
        k = end + 1  # "Former Pennsylvania governor Ed Rendell": the run describes the name after it
    else:
        intro = _intro_end(tokens, k, limit, after_preposition)
        if intro is not None:
            return _subject_position(tokens, intro + 1, limit)
    while k < limit and _descriptor(tokens, k):
        k += 1
    if k >= limit:
        return None
    if tokens[k].text.lower() in _PRONOUNS or _is_name_part(tokens[k]):
        return k
    return None


def _intro_end(tokens: Sequence[_Token], k: int, limit: int, opened: bool) -> int | None:
    """The comma closing an introductory phrase at ``k`` ("On Thursday,", "Like a member,", "Just then,").

    ``opened``: the phrase's first word, a preposition, was skipped as an opening word ("On").
    """
    if k >= limit:
        return None
    if not (opened or tokens[k].text.lower() in _INTRO_OPENERS or tokens[k].text in _INTRO_WORDS):
        return None
    for j in range(k, min(limit, k + _INTRO_MAX)):
        if tokens[j].kind == "quote" or tokens[j].text in _SENTENCE_END:
            return None
        if tokens[j].text == ",":
            return _past_state(tokens, j, limit)
    return None


def _past_state(tokens: Sequence[_Token], j: int, limit: int) -> int:
    """The comma after "Salem, New Hampshire" when the comma at ``j`` follows a town and a state follows it."""
    if j == 0 or not _is_name_part(tokens[j - 1]) or j + 1 >= limit:
        return j
    for width in (1, 2):
        state = " ".join(t.text for t in tokens[j + 1 : j + 1 + width])
        after = j + 1 + width
        if state in _STATES and after < limit and tokens[after].text == ",":
            return after
    return j


def _descriptor(tokens: Sequence[_Token], k: int) -> bool:
    """A word describing the person named next ("Former Pennsylvania governor", "Florida developer")."""
    token = tokens[k]
    if token.kind != "word":
        return False
    if token.text.islower():
        return token.text in _DESCRIPTORS
    # a capitalised word is a descriptor only where a lowercase one follows it ("Florida developer Mel")
    return k + 1 < len(tokens) and tokens[k + 1].kind == "word" and tokens[k + 1].text in _DESCRIPTORS


def _ends_sentence(tokens: Sequence[_Token], k: int) -> bool:
    """A sentence ends at ``k``: a full stop, a quotation, or a closing mark after a full stop (a short
    quotation is narration: 'Sanders called it “arbitrary.” Josh Hendler … warned')."""
    token = tokens[k]
    if token.text in _SENTENCE_END or token.kind == "quote":
        return True
    return token.text in _CLOSERS and k > 0 and tokens[k - 1].text in _SENTENCE_END


def _opens_clause(tokens: Sequence[_Token], k: int) -> bool:
    """The name at ``k`` is the subject its sentence opens with (see `_subject_position`)."""
    return _subject_position(tokens, _sentence_start(tokens, k), k + 1) == k


def _dash_bylines(tokens: Sequence[_Token]) -> list[_Cue]:
    """ "“…” ― Pamela Padilla": a dash and a name right after a quotation, ending the paragraph."""
    cues = []
    for i, token in enumerate(tokens):
        if token.text in _DASHES and (i == 0 or tokens[i - 1].kind == "quote") and i + 1 < len(tokens):
            end = _run_forward(tokens, i + 1) if _is_name_part(tokens[i + 1]) else -1
            rest = tokens[end + 1 :] if end >= 0 else []
            if end >= 0 and all(t.kind == "punct" for t in rest):
                name = _clean([t.text for t in tokens[i + 1 : end + 1]])
                if name:
                    cues.append(_Cue(token.start, tokens[end].end, "named", name))
    return cues


def _has_title(tokens: Sequence[_Token]) -> bool:
    return any(t.text in _TITLES and t.text not in ("Democrat", "Republican", "Democratic", "GOP") for t in tokens)


def _span_text(tokens: Sequence[_Token], first: int, last: int) -> str:
    parts = []
    for n in range(first, last + 1):
        if n > first and tokens[n].start > tokens[n - 1].end:
            parts.append(" ")
        parts.append(tokens[n].text)
    return "".join(parts)


@functools.cache
def _dictionary() -> frozenset[str]:
    """pyspellchecker's English word list (lower case; it holds common place names too)."""
    from spellchecker import SpellChecker

    return frozenset(SpellChecker(language="en", distance=1).word_frequency.keys())


def _english(word: str) -> bool:
    """An English word or a title, as opposed to a name of its own ("Trayvon")."""
    parts = word.lower().split("-")
    return _is_title(word) or (all(len(p) >= 2 and p in _dictionary() for p in parts) and len(word) > 2)


def _is_title(word: str) -> bool:
    """A title, also as part of a hyphenated one ("Secretary-Treasurer", "Vice-Chairman")."""
    return word in _TITLES or ("-" in word and any(part in _TITLES for part in word.split("-")))


def _clean(words: Sequence[str]) -> str | None:
    """The person's name in a run of capitalised words, or None when the run names nobody."""
    words = [w for w in words if w != ","]
    while words and (words[0] in _FUNCTION or words[0] in _PARTICLES or words[0].lower() in _VERBS):
        words = words[1:]
    known = first_names()
    # "Dean Baker" is a man's name; "Dean John Smith", "Judge Baker" are titled
    titled = [n for n, w in enumerate(words[:-1]) if _is_title(w) and not (w in known and len(words) == 2)]
    honorific = words[titled[-1]] if titled and words[titled[-1]] in _HONORIFICS else None
    if titled:
        words = words[titled[-1] + 1 :]
    # "Billionaire Donald Trump", "Washington Political Editor Matthew Boyle": the name starts at its first name
    first = next((n for n, w in enumerate(words) if w in known), None)
    if first is not None and first > 0 and len(words) - first >= 2 and all(_english(w) for w in words[:first]):
        words = words[first:]  # but "Trayvon Martin Foundation" is no "Martin Foundation"
    while words and words[-1] in _SUFFIXES and len(words) > 1:
        words = words[:-1]
    # a title word ends a name only as a surname after a first name ("Howard Dean"), never alone ("Judge")
    title_last = bool(words) and words[-1] in _TITLES and not (len(words) >= 2 and words[-2] in known)
    if not words or any(w in _NOT_NAMES or w in _FUNCTION for w in words) or title_last:
        return None
    if words[-1].lower() in _PARTICLES or len(words) > 4 or not any(len(w.strip(".")) > 1 for w in words):
        return None
    if words[-1].endswith(".") and words[-1] not in _SUFFIXES:
        return None  # an initial or an abbreviation cannot end a person's name
    name = " ".join(words)
    return f"{honorific} {name}" if honorific and len(words) == 1 else name


# -- names ---------------------------------------------------------------------------------------------

_SHARED_VOTES = 3  # pronouns beside a surname two people share needed before they tell which of them it is
_SEX_RATIO = 3.0  # a first name is taken as a man's or a woman's when that sex bears it 3 times as often


@functools.cache
def first_names() -> dict[str, str]:
    """First names ("Hillary") -> "m", "f", or "" where both sexes bear it about as often.

    The US Census 1990 lists (shipped by the `names` package): each line a name in capitals and the
    share, in percent, of that sex's population bearing it, so the two shares compare directly.
    """
    shares: dict[str, list[float]] = {}
    for column, sex in enumerate(("male", "female")):
        listing = resources.files("names").joinpath(f"dist.{sex}.first").read_text(encoding="ascii")
        for line in listing.splitlines():
            parts = line.split()
            if len(parts) >= 2:
                shares.setdefault(parts[0].title(), [0.0, 0.0])[column] = float(parts[1])
    found = {}
    for name, (male, female) in shares.items():
        found[name] = "m" if male >= _SEX_RATIO * female else "f" if female >= _SEX_RATIO * male else ""
    return found


class _Names:
    """The people a document names: full names for surnames, who opens sentences, he or she."""

    def __init__(self, text: str, paras: Sequence[Span], parsed: Sequence[_Paragraph]) -> None:
        self.full: dict[str, dict[str, int]] = {}  # surname -> full names -> mentions ("Uttam Dhillon": 2)
        self.titled: dict[str, set[str]] = {}  # surname -> genders of Mr./Mrs./Ms. before it
        self.alone: set[str] = set()  # surnames also written on their own
        self.mentions: list[_Mention] = []
        self.speakers: set[str] = set()  # surnames of named speech cues
        self.votes: dict[str, list[int]] = {}  # surname -> [he, she] in sentences naming only them
        self.described: set[str] = set()  # surnames followed by ", who"
        self.places: dict[str, list[tuple[int, str]]] = {}  # surname -> (position, full name) in text order
        for number, (para, paragraph) in enumerate(zip(paras, parsed, strict=True)):
            if not _headline(text, para, number):
                self._collect(paragraph.tokens)

    def _collect(self, tokens: Sequence[_Token]) -> None:
        k = 0
        sentence: list[str] = []
        pronouns = [0, 0]
        while k < len(tokens):
            token = tokens[k]
            if token.text in _SENTENCE_END or token.kind == "quote":
                self._vote(sentence, pronouns)
                sentence, pronouns = [], [0, 0]
            if not _is_name_part(token):
                low = token.text.lower()
                if low in ("he", "him", "his"):
                    pronouns[0] += 1
                elif low in ("she", "her", "hers"):
                    pronouns[1] += 1
                k += 1
                continue
            end = _run_forward(tokens, k)
            words = [t.text for t in tokens[k : end + 1]]
            if end + 1 < len(tokens) and tokens[end + 1].kind == "word" and _possessive(tokens[end + 1].text):
                # "Marco Rubio’s plan" names Marco Rubio (the possessive never joins a name in a cue)
                words.append(re.sub(r"[’']s?$", "", tokens[end + 1].text))
                end += 1
            name = _clean(words)
            if name is not None:
                self._add(name, words, tokens, k, end)
                sentence.append(name.split()[-1])
            k = end + 1
        self._vote(sentence, pronouns)

    def _add(self, name: str, words: Sequence[str], tokens: Sequence[_Token], k: int, end: int) -> None:
        parts = name.split()
        surname = parts[-1]
        for word in words:
            if word in _HONORIFICS:
                self.titled.setdefault(surname, set()).add(_HONORIFICS[word])
        if len(parts) >= 2 and parts[0] not in _HONORIFICS:
            counts = self.full.setdefault(surname, {})
            counts[name] = counts.get(name, 0) + 1
            self.places.setdefault(surname, []).append((tokens[k].start, name))
        else:
            self.alone.add(surname)
        opening = k == 0 or _ends_sentence(tokens, k - 1)
        opening = opening or all(t.text in _FUNCTION for t in tokens[max(0, k - 1) : k]) or _opens_clause(tokens, k)
        # "…, Kennedy said": the subject of a speech verb wherever the clause stands
        opening = opening or (
            end + 1 < len(tokens) and tokens[end + 1].text in _VERBS and not _reported(tokens, k, end)
        )
        # "As for Trump, he said": a name set before its pronoun is the clause's subject too
        opening = opening or (
            end + 2 < len(tokens) and tokens[end + 1].text == "," and tokens[end + 2].text.lower() in _PRONOUNS
        )
        full = name if len(parts) >= 2 and parts[0] not in _HONORIFICS else ""
        self.mentions.append(_Mention(tokens[k].start, surname, opening, full))
        if end + 2 < len(tokens) and tokens[end + 1].text == "," and tokens[end + 2].text == "who":
            self.described.add(surname)

    def _vote(self, sentence: Sequence[str], pronouns: Sequence[int]) -> None:
        if len(set(sentence)) == 1 and any(pronouns):
            votes = self.votes.setdefault(sentence[0], [0, 0])
            votes[0] += pronouns[0]
            votes[1] += pronouns[1]

    def _pronoun_gender(self, surname: str) -> str | None:
        he, she = self.votes.get(surname, [0, 0])
        if he >= 2 * she + 1:
            return "m"
        if she >= 2 * he + 1:
            return "f"
        return None

    def gender(self, surname: str) -> str | None:
        """ "m" or "f" where the text is clear about it (titles, first names, pronouns beside the name)."""
        titled = self.titled.get(surname, set())
        if len(titled) == 1:
            return next(iter(titled))
        return self._first_name_gender(surname) or self._pronoun_gender(surname)

    def _first_name_gender(self, surname: str) -> str | None:
        """The sex every first name written before this surname agrees on ("Hillary Clinton": "f")."""
        known = first_names()
        sexes = {known.get(full.split()[0]) for full in self.full.get(surname, {})}
        return sexes.pop() if len(sexes) == 1 and None not in sexes and "" not in sexes else None

    def expand(self, name: str, at: int | None = None) -> str:
        """The fullest form of a name the text used for the same person, or the name as written.

        A surname that several first names share ("Hillary Clinton", "Bill Clinton") takes the one
        the text names most often in full when it is named at least twice as often; else, for a name
        written at ``at``, the one named in full last before it (news names a person in full, then by
        surname), and the surname alone when neither is named before it.
        """
        parts = name.split()
        honorific = parts[0] if parts[0] in _HONORIFICS else None
        if honorific:
            parts = parts[1:]
        if not parts:
            return name
        candidates = {
            full: count
            for full, count in self.full.get(parts[-1], {}).items()
            if full.split()[-len(parts) :] == parts and len(full.split()) > len(parts)
        }
        if not candidates:
            return " ".join(parts) if len(parts) >= 2 else name
        # "Despite Rubio", "Understated Perez": a word glued to the surname is no first name beside "Marco Rubio"
        known = first_names()
        real = {f: c for f, c in candidates.items() if f.split()[0] in known or f.split()[0].endswith(".")}
        candidates = real or candidates
        if honorific:
            return self._honoured(name, _HONORIFICS[honorific], candidates)
        by_first: dict[str, int] = {}
        for full, count in candidates.items():
            by_first[full.split()[0]] = by_first.get(full.split()[0], 0) + count
        ranked = sorted(by_first.items(), key=lambda item: -item[1])
        if len(ranked) > 1 and ranked[0][1] < 2 * ranked[1][1]:
            # two people share it about as often: the one whose sex the pronouns beside the surname show
            # ("Fiorina wasn't backing down … her voice", several times), where only one is of that sex
            sex = self._pronoun_gender(parts[-1]) if sum(self.votes.get(parts[-1], [])) >= _SHARED_VOTES else None
            agreeing = {first for first, _ in ranked if known.get(first) == sex} if sex else set()
            if len(agreeing) == 1 and all(known.get(first) for first, _ in ranked):
                first = agreeing.pop()
                return max((f for f in candidates if f.split()[0] == first), key=lambda f: (candidates[f], len(f)))
            # else the one named in full last before this mention
            before = [f for position, f in self.places.get(parts[-1], []) if f in candidates and position < (at or 0)]
            if at is not None and before:
                return before[-1]
            return " ".join(parts) if len(parts) >= 2 else name
        first = ranked[0][0]
        return max((f for f in candidates if f.split()[0] == first), key=lambda f: (candidates[f], len(f)))

    def _honoured(self, name: str, sex: str, candidates: dict[str, int]) -> str:
        """ "Mrs. Trump" is "Melania Trump" where she is the one Trump of that sex; "Donald Trump" never."""
        known = first_names()
        agreeing = [f for f in candidates if known.get(f.split()[0]) == sex]
        unknown = [f for f in candidates if not known.get(f.split()[0])]
        if len(agreeing) == 1 and not unknown:
            return agreeing[0]
        if not agreeing and len(unknown) == len(candidates) == 1 and self._pronoun_gender(name.split()[-1]) == sex:
            return unknown[0]  # a first name of either sex, and the text calls this person "she" (or "he")
        return name

    def person(self, surname: str) -> bool:
        """A surname the text uses for a person: a speaker, a titled name, or a full name used alone too."""
        if surname in _ORGANISATIONS:
            return False  # "the Trayvon Martin Foundation" is never "he"
        if surname in self.speakers or surname in self.titled or (surname in self.full and surname in self.alone):
            return True
        if surname in self.described:
            return True  # "Rihanna, who was honored …"
        # "Ashley Yago, 33, …": a full name whose first word is a known first name
        return any(full.split()[0] in first_names() for full in self.full.get(surname, {}))


def _reported(tokens: Sequence[_Token], k: int, end: int) -> bool:
    """The name at ``k``..``end`` and the verb after it are reported, not speech: "said Trump continued to
    hurt his cause" (a clause after a speech verb or "that"), "Trump promised to" (a verb of intent)."""
    after = end + 2 < len(tokens) and tokens[end + 2].text == "to"
    return after or (k > 0 and (tokens[k - 1].text.lower() in _VERBS or tokens[k - 1].text == "that"))


def _headline(text: str, para: Span, number: int) -> bool:
    """A title-case opening line or heading: its capitalised words are no evidence of a name."""
    piece = text[para.start : para.end]
    words = piece.split()
    if len(words) < 3 or len(words) > 30:
        return False
    if number > 0 and piece.rstrip()[-1:] in '.!?”"':
        return False  # a short sentence of the body ("Mike Pence spoke first.")
    capitalised = sum(1 for w in words if w[:1].isupper())
    return capitalised / len(words) >= 0.6


# -- attribution -----------------------------------------------------------------------------------


def _attribute(parsed: Sequence[_Paragraph], names: _Names) -> None:
    for paragraph in parsed:
        for cue in paragraph.cues:
            if cue.kind == "named" and not cue.needs_person:
                names.speakers.add(names.expand(cue.name, cue.start).split()[-1])
    for number in range(1, len(parsed)):
        _byline_paragraph(parsed[number - 1], parsed[number], names)
    previous: _Quote | None = None  # the last quotation of the previous paragraph
    recent: list[tuple[int, int, str]] = []  # (paragraph, position, speaker) of attributed quotations
    for number, paragraph in enumerate(parsed):
        if paragraph.label is not None:
            label = names.expand(paragraph.label.title())
            if names.person(label.split()[-1]) or label.split()[-1] in names.full:
                paragraph.quotes[0].speaker = label
                paragraph.quotes[0].via = "named"
        for quote in paragraph.quotes:
            if quote.speaker is None:
                floor = parsed[max(0, number - 2)].span.start
                _assign(quote, paragraph, names, recent, floor)
            if quote.speaker and quote.via != "nominal":
                # "…, said Christine Link. “…,” she said": an earlier quotation of the paragraph counts
                recent.append((number, quote.start, quote.speaker))
        paragraph_speakers = {q.speaker for q in paragraph.quotes if q.speaker}
        for quote in paragraph.quotes:
            if quote.speaker is None and len(paragraph_speakers) == 1 and not paragraph.label:
                quote.speaker, quote.via = next(iter(paragraph_speakers)), "paragraph"
            if (
                quote.speaker is None
                and previous is not None
                and previous.speaker
                and quote.start == paragraph.span.start
                and not paragraph.cues
            ):
                quote.speaker, quote.via = previous.speaker, "continued"
            if quote.speaker is None and quote.start == paragraph.span.start and not paragraph.cues and number > 0:
                # "…, who said none of the emails originated with Clinton." then a paragraph of her words
                reported = _reported_speech(parsed[number - 1])
                if reported is not None:
                    _take(quote, reported, names, recent, parsed[max(0, number - 3)].span.start)
                    quote.via = "reported" if quote.speaker else ""
            if quote.speaker and quote.via != "nominal" and (number, quote.start, quote.speaker) not in recent:
                recent.append((number, quote.start, quote.speaker))
        recent.sort(key=lambda r: r[1])
        previous = paragraph.quotes[-1] if paragraph.quotes else None


def _byline_paragraph(quoted: _Paragraph, byline: _Paragraph, names: _Names) -> None:
    """A paragraph that is only a dash and a name ("- Bernie Sanders.") signs the quotation paragraph before it."""
    tokens = byline.tokens
    if byline.quotes or not quoted.quotes or not tokens or tokens[0].text not in _DASHES:
        return
    if not any(t.kind == "quote" for t in quoted.tokens) or any(t.kind == "word" for t in quoted.tokens):
        return  # the paragraph before must be quotation alone, its own narration naming no one
    cue = next((c for c in byline.cues if c.start == tokens[0].start), None)
    if cue is None or cue.kind != "named":
        return
    for quote in quoted.quotes:
        quote.speaker, quote.via = names.expand(cue.name, cue.start), "named"


def _reported_speech(paragraph: _Paragraph) -> _Cue | None:
    """The speech cue of a paragraph without quotations that ends in reported speech ("X warned that …")."""
    if paragraph.quotes or not paragraph.cues or paragraph.cues[-1].kind == "nominal" or paragraph.cues[-1].forward:
        return None
    cue = paragraph.cues[-1]
    ends = [t for t in paragraph.tokens if t.start >= cue.end and t.text in _SENTENCE_END]
    return cue if len(ends) <= 1 and not cue.needs_person else None


def _assign(
    quote: _Quote, paragraph: _Paragraph, names: _Names, recent: list[tuple[int, int, str]], floor: int
) -> None:
    cue = _cue_for(quote, paragraph)
    if cue is not None:
        _take(quote, cue, names, recent, floor)


def _take(quote: _Quote, cue: _Cue, names: _Names, recent: list[tuple[int, int, str]], floor: int) -> None:
    """Give the quotation the speaker the cue names, where it names one clearly."""
    if cue.kind == "named":
        if cue.needs_person and not names.person(names.expand(cue.name, cue.start).split()[-1]):
            return
        quote.speaker, quote.via = names.expand(cue.name, cue.start), "named"
    elif cue.kind == "nominal":
        quote.speaker, quote.via = cue.name, "nominal"
    else:
        resolved = _resolve_pronoun(cue, names, recent, floor)
        if resolved:
            quote.speaker, quote.via = resolved, "pronoun"


def _cue_for(quote: _Quote, paragraph: _Paragraph) -> _Cue | None:
    """The cue right after the quotation, else right before it in the same sentence, else the nearest."""
    after = [c for c in paragraph.cues if c.start >= quote.end and not c.forward]
    before = [c for c in paragraph.cues if c.end <= quote.start]
    if after and _adjacent(paragraph, quote.end, after[0].start):
        return after[0]
    if before and _same_sentence(paragraph, before[-1].end, quote.start):
        return before[-1]
    best: tuple[int, _Cue] | None = None
    for cue in paragraph.cues:
        if cue.forward and cue.start >= quote.end:
            continue
        distance = max(cue.start - quote.end, quote.start - cue.end, 0)
        if best is None or distance < best[0]:
            best = (distance, cue)
    return best[1] if best else None


def _between(paragraph: _Paragraph, start: int, end: int) -> list[_Token]:
    return [t for t in paragraph.tokens if start <= t.start and t.end <= end]


def _adjacent(paragraph: _Paragraph, start: int, end: int) -> bool:
    return all(t.kind == "punct" and t.text not in _SENTENCE_END for t in _between(paragraph, start, end))


def _same_sentence(paragraph: _Paragraph, start: int, end: int) -> bool:
    if end - start > _CUE_GAP:
        return False
    return not any(t.text in _SENTENCE_END or t.kind == "quote" for t in _between(paragraph, start, end))


def _sex_of(name: str) -> str | None:
    """The sex a full name's first name shows ("m", "f"), or None."""
    return first_names().get(name.split()[0]) or None


def _resolve_pronoun(cue: _Cue, names: _Names, recent: list[tuple[int, int, str]], floor: int) -> str | None:
    """The person a "he"/"she" speaker is, when the evidence is clear; else None.

    ``floor`` is where the stretch of text starts (two paragraphs back). The candidates are the last
    quoted speaker and the last person opening a sentence in that stretch whose gender (as the text
    shows it) does not contradict the pronoun. Either alone decides; when both exist and differ, the
    one named later wins: a person opening a sentence after that quotation took over the stretch.
    """
    gender = _PRONOUNS[cue.name]

    def agrees(name: str) -> bool:
        known = names.gender(name.split()[-1])
        return known is None or known == gender

    quoted = [r for r in recent if r[1] >= floor and agrees(r[2])]
    previous = quoted[-1] if quoted else None

    def mention_agrees(mention: _Mention) -> bool:
        # "Jane Sanders made it clear …": her own first name tells her sex beside Bernie Sanders
        sex = first_names().get(mention.name.split()[0]) if mention.name else None
        return sex == gender if sex else agrees(mention.surname)

    def named(mention: _Mention) -> str:
        return (
            mention.name if mention.name and _sex_of(mention.name) else names.expand(mention.surname, mention.position)
        )

    subjects = [
        m
        for m in names.mentions
        if m.subject and floor <= m.position < cue.start and names.person(m.surname) and mention_agrees(m)
    ]
    subject = subjects[-1] if subjects else None
    if previous is None:
        return named(subject) if subject else None
    speaker = previous[2]
    if subject is None or subject.position < previous[1] or speaker.split()[-1] == subject.surname:
        return speaker
    return named(subject)  # a new person took over the stretch after that quotation
