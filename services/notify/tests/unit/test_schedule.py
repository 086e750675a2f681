"""When messages go (NOT-02, NOT-04): the 19:00 Paris batch across the daylight-saving changes."""

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notify.domain.schedule import PARIS, batch_at, next_batch, reminder_due_at, retry_at, rule_due_at


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("day, expected", [
    (date(2025, 3, 29), utc(2025, 3, 29, 18)),   # last day of winter time (CET, UTC+1)
    (date(2025, 3, 30), utc(2025, 3, 30, 17)),   # clocks go forward at 02:00: CEST, UTC+2
    (date(2025, 10, 25), utc(2025, 10, 25, 17)),  # last day of summer time
    (date(2025, 10, 26), utc(2025, 10, 26, 18)),  # clocks go back at 03:00: CET again
    (date(2025, 1, 14), utc(2025, 1, 14, 18)),
])
def test_not02_batch_is_at_1900_paris_whatever_the_offset(day, expected):
    assert batch_at(day) == expected
    assert batch_at(day).astimezone(PARIS).hour == 19


def test_not02_next_batch_is_today_until_1900_then_tomorrow():
    assert next_batch(utc(2025, 3, 30, 16, 59)) == utc(2025, 3, 30, 17)
    assert next_batch(utc(2025, 3, 30, 17)) == utc(2025, 3, 30, 17)
    assert next_batch(utc(2025, 3, 30, 17, 0, 1)) == utc(2025, 3, 31, 17)
    assert next_batch(utc(2025, 10, 25, 22, 30)) == utc(2025, 10, 26, 18)  # 00:30 in Paris on the 26th


def test_not02_rule_delay_is_counted_from_the_action_zero_meaning_the_import_day():
    starts = datetime(2025, 1, 14, 9, 0, tzinfo=PARIS)
    imported = datetime(2025, 1, 4, 10, 0, tzinfo=PARIS)
    assert rule_due_at(0, starts, imported) == datetime(2025, 1, 4, 19, 0, tzinfo=PARIS)
    assert rule_due_at(-2, starts, imported) == datetime(2025, 1, 12, 19, 0, tzinfo=PARIS)
    assert rule_due_at(1, starts, imported) == datetime(2025, 1, 15, 19, 0, tzinfo=PARIS)
    late = datetime(2025, 1, 4, 20, 15, tzinfo=PARIS)  # imported after the day's batch
    assert rule_due_at(0, starts, late) == datetime(2025, 1, 5, 19, 0, tzinfo=PARIS)
    j1 = datetime(2025, 1, 13, 11, 0, tzinfo=PARIS)  # a J-2 rule whose day is gone: the next batch
    assert rule_due_at(-2, starts, j1) == datetime(2025, 1, 13, 19, 0, tzinfo=PARIS)


@given(st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)),
       st.integers(min_value=-30, max_value=30))
def test_not02_a_rule_message_is_always_due_at_a_1900_paris_batch_not_before_now(now, delay):
    starts = now.replace(hour=9, minute=0)
    due = rule_due_at(delay, starts, now)
    local = due.astimezone(PARIS)
    assert (local.hour, local.minute, local.second) == (19, 0, 0)
    assert due >= now


def test_not04_j7_reminder_in_the_morning_seven_days_before():
    assert reminder_due_at(datetime(2025, 4, 1, 10, 0, tzinfo=PARIS)) == datetime(2025, 3, 25, 10, 0, tzinfo=PARIS)
    assert reminder_due_at(datetime(2025, 4, 3, 10, 0, tzinfo=PARIS)) == utc(2025, 3, 27, 9)  # CET then


def test_not06_back_off_doubles_up_to_the_limit():
    now = utc(2025, 1, 1)
    assert [(retry_at(now, n, 60, 3600) - now).total_seconds() for n in (1, 2, 3, 7, 8)] == [60, 120, 240, 3600, 3600]
