"""When messages go (NOT-02, NOT-04). Pure: every function takes the time it needs.

Rule-driven messages go in the daily batch at 19:00 Europe/Paris; the delay is counted in days
from the action (0 = the day of the import). 19:00 Paris is 18:00 UTC in winter and 17:00 UTC in
summer: the batch time is computed from the Paris calendar day, so the daylight-saving change
(last Sundays of March and October) moves it with the clocks. System messages go at once, except
the J-7 virtual-office reminder, which goes on the morning of J-7.
"""

from datetime import UTC, date, datetime, time, timedelta

from servicekit.clock import PARIS

BATCH_TIME = time(19, 0)
REMINDER_TIME = time(10, 0)
REMINDER_DAYS = 7


def paris_day(moment: datetime) -> date:
    return moment.astimezone(PARIS).date()


def at_paris(day: date, clock_time: time) -> datetime:
    """``clock_time`` on ``day`` in Paris, as a UTC instant."""
    return datetime.combine(day, clock_time, tzinfo=PARIS).astimezone(UTC)


def batch_at(day: date) -> datetime:
    """The 19:00 (Paris) batch of ``day``."""
    return at_paris(day, BATCH_TIME)


def next_batch(now: datetime) -> datetime:
    """The first batch at or after ``now``."""
    today = batch_at(paris_day(now))
    return today if today >= now else batch_at(paris_day(now) + timedelta(days=1))


def rule_due_at(delay_days: int, starts_at: datetime, now: datetime) -> datetime:
    """Batch of a rule message: the day ``delay_days`` from the action (0: today, the import's day);
    a day already gone goes in the next batch."""
    day = paris_day(now) if delay_days == 0 else paris_day(starts_at) + timedelta(days=delay_days)
    return max(batch_at(day), next_batch(now))


def reminder_due_at(starts_at: datetime) -> datetime:
    """J-7 virtual-office reminder: 10:00 (Paris) seven days before the action."""
    return at_paris(paris_day(starts_at) - timedelta(days=REMINDER_DAYS), REMINDER_TIME)


def retry_at(now: datetime, attempts: int, base_seconds: float, max_seconds: float) -> datetime:
    """Exponential back-off after the ``attempts``-th temporary failure."""
    return now + timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), max_seconds))
