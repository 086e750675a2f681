"""The copies of sent messages that the folder channels write (``<id>.eml``, ``<id>.sms.json``)."""

import asyncio
from collections.abc import Iterable
from pathlib import Path

SUFFIXES = (".eml", ".sms.json", ".part", ".sms.part")  # .part: a write cut short


class SentCopies:
    """Deletes the files a folder channel wrote for some messages (GDPR purge, X-04); ``folder`` None:
    nothing is written as files (SMTP and an SMS provider), nothing to delete."""

    def __init__(self, folder: Path | None):
        self.folder = folder

    async def forget(self, message_ids: Iterable[str]) -> int:
        if self.folder is None:
            return 0
        paths = [self.folder / f"{message_id}{suffix}" for message_id in message_ids for suffix in SUFFIXES]
        return await asyncio.to_thread(_delete, paths)


def _delete(paths: list[Path]) -> int:
    deleted = 0
    for path in paths:
        try:
            path.unlink()
            deleted += 1
        except FileNotFoundError:
            pass
    return deleted
