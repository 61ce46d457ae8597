"""The school year, as the figures use it.

An academic year runs from 1 September to 31 August and is named by its two calendar years
("2026/27"); the DfE's statistics call it ``202627``. Its three terms, as the DfE reports
them: autumn (September to December), spring (January to March) and summer (April to
August). Schools' own term dates differ by a few days; the figures are counted over the
marks a school recorded within these bounds, so a school's holidays (no marks) do not
matter.
"""

import datetime
from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    name: str  # "Autumn term"
    start: datetime.date
    end: datetime.date

    def to_date(self, today: datetime.date) -> tuple[datetime.date, datetime.date]:
        return self.start, min(self.end, today)


def academic_year_start(day: datetime.date) -> datetime.date:
    year = day.year if day.month >= 9 else day.year - 1
    return datetime.date(year, 9, 1)


def academic_year_label(day: datetime.date) -> str:
    start = academic_year_start(day).year
    return f"{start}/{(start + 1) % 100:02d}"


def academic_year_code(label_or_day) -> str:
    """``202627`` for 2026/27 (the DfE's ``time_period``)."""
    start = academic_year_start(label_or_day).year
    return f"{start}{(start + 1) % 100:02d}"


def time_period_label(time_period: str) -> str:
    """``2024/25`` for the DfE's ``202425``."""
    return f"{time_period[:4]}/{time_period[4:]}"


def term_of(day: datetime.date) -> Term:
    if day.month >= 9:
        return Term("Autumn term", datetime.date(day.year, 9, 1), datetime.date(day.year, 12, 31))
    if day.month <= 3:
        return Term("Spring term", datetime.date(day.year, 1, 1), datetime.date(day.year, 3, 31))
    return Term("Summer term", datetime.date(day.year, 4, 1), datetime.date(day.year, 8, 31))


def week_start(day: datetime.date) -> datetime.date:
    """The Monday of ``day``'s week (weeks run Monday to Sunday)."""
    return day - datetime.timedelta(days=day.weekday())
