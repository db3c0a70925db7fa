"""The period a question names, read against the day it is asked."""

from __future__ import annotations

import datetime as dt

import pytest

from index.dates import Period, period

ASKED = dt.date(2023, 1, 5)


@pytest.mark.parametrize(
    ("question", "first", "last"),
    [
        ("NFL player Damar Hamlin collapsed this week. Which team does he play for?", dt.date(2022, 12, 28), ASKED),
        ("Which seed did the FDA recently add to its list of allergens?", dt.date(2022, 12, 5), ASKED),
        ("What is the latest country to join NATO?", dt.date(2022, 12, 5), ASKED),
        ("Who resigned yesterday?", dt.date(2023, 1, 3), ASKED),
        ("Which film topped the box office this year?", dt.date(2023, 1, 1), ASKED),
        ("Who won the World Cup last year?", dt.date(2022, 1, 1), dt.date(2022, 12, 31)),
        ("Who won the Super Bowl in 2021?", dt.date(2021, 1, 1), dt.date(2021, 12, 31)),
        ("How many storms hit Florida since 2019?", dt.date(2019, 1, 1), ASKED),
        ("What happened during early 2020 in Wuhan?", dt.date(2020, 1, 1), dt.date(2020, 12, 31)),
    ],
)
def test_time_words_name_a_period_counted_back_from_the_day_of_asking(
    question: str, first: dt.date, last: dt.date
) -> None:
    assert period(question, ASKED) == Period(first, last)


@pytest.mark.parametrize(
    "question",
    [
        "What do the cartels need to make fentanyl?",
        "What is the goal for 2030?",  # a year after the day of asking is a plan, not a publication date
        "What happened in the 1990s?",
        "Which team is based in New York?",
    ],
)
def test_a_question_without_time_words_has_no_period(question: str) -> None:
    assert period(question, ASKED) is None


def test_the_same_words_mean_another_period_on_another_day() -> None:
    later = dt.date(2023, 6, 30)
    found = period("Who was fired this week?", later)
    assert found is not None and found.holds(dt.date(2023, 6, 25)) and not found.holds(dt.date(2023, 1, 3))
