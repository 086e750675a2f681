"""What every ``prestaflow`` command does the same way: run against the APIs, report refusals,
print JSON. Exit codes: 0 done, 1 refused input (its messages are printed), 2 usage error."""

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import click

from prestaflow.client import AccessRefused, Api, ServiceUnavailable
from prestaflow.referential import Refused

REFUSED = 1


def run(work: Callable[[Api], Awaitable[Any]]) -> Any:
    """``work`` against the deployment at PRESTAFLOW_URL, or in-process under PRESTAFLOW_HOME."""
    async def main() -> Any:
        async with Api() as api:
            return await work(api)

    try:
        return asyncio.run(main())
    except Refused as exc:
        click.echo("Refusé, rien n'a été modifié :", err=True)
        for message in exc.messages:
            click.echo(f"  - {message}", err=True)
        sys.exit(REFUSED)
    except AccessRefused as exc:
        click.echo("Non autorisé :" if exc.status == 401 else "Refusé :", err=True)
        for message in exc.messages:
            click.echo(f"  - {message}", err=True)
        sys.exit(REFUSED)
    except ServiceUnavailable as exc:
        click.echo(str(exc), err=True)
        sys.exit(REFUSED)


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
