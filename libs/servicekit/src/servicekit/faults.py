"""Fault injection for crash and retry tests.

A JSON file named by ``PRESTAFLOW_FAULTS_FILE`` lists points, e.g.
``{"crash": ["importer.after_commit"], "fail": ["importer.handle.ReferentialChanged"]}``.
``crash`` ends the process at once (as SIGKILL would, nothing flushed); ``fail`` raises. The file
is read at each point, so a test can fix "the cause" while the process runs. Without the
setting, every point is a no-op.
"""

import json
import os
from pathlib import Path


class InjectedFault(RuntimeError):
    pass


def _points(kind: str) -> list[str]:
    path = os.environ.get("PRESTAFLOW_FAULTS_FILE")
    if not path or not Path(path).exists():
        return []
    try:
        return list(json.loads(Path(path).read_text()).get(kind, []))
    except (OSError, ValueError):
        return []


def point(name: str) -> None:
    if name in _points("crash"):
        os._exit(137)
    if name in _points("fail"):
        raise InjectedFault(f"fault injected at {name}")
