"""JSON logs. Only ids and counts are logged: never a name, e-mail, phone or payload."""

import json
import logging
import sys
from datetime import UTC, datetime

_FIELDS = ("service", "event_id", "type", "count", "attempt", "topic", "correlation_id",
           "asked", "served", "path")  # asked, served: keys of beneficiaries (SEC-03), counts only


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({f: getattr(record, f) for f in _FIELDS if hasattr(record, f)})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


# Libraries whose debug output carries SQL parameters or message bodies, i.e. personal data.
LEAKY = ("aiosqlite", "asyncpg", "sqlalchemy.engine", "aiokafka", "faststream", "httpx", "httpcore",
         "uvicorn.access", "aiosmtplib", "mail.log")


def silence_leaky_libraries() -> None:
    for name in LEAKY:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    silence_leaky_libraries()
