"""``prestaflow``: the staff's command line.

Exit codes: 0 done, 1 refused input (its messages are printed), 2 usage error.
"""

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click

from servicekit.settings import ServiceSettings

from prestaflow import referential as referential_commands
from prestaflow.client import Api, ServiceUnavailable
from prestaflow.embedded import SERVICE_NAMES

REFUSED = 1


def _run(work: Callable[[Api], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        async with Api() as api:
            return await work(api)

    try:
        return asyncio.run(main())
    except referential_commands.Refused as exc:
        click.echo("Refusé, rien n'a été chargé :", err=True)
        for message in exc.messages:
            click.echo(f"  - {message}", err=True)
        sys.exit(REFUSED)
    except ServiceUnavailable as exc:
        click.echo(str(exc), err=True)
        sys.exit(REFUSED)


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@click.group()
def main() -> None:
    """Prestaflow: the Activ'Créa back office."""


@main.group()
def referential() -> None:
    """The structure's referential (antennes, sites, advisors, ODS, ressources, catalogue, templates)."""


@referential.command("load")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def referential_load(file: Path, as_json: bool) -> None:
    """Load FILE.yaml; refused as a whole if any entry is wrong; loading it twice changes nothing."""
    results = _run(lambda api: referential_commands.load(api, file))
    if as_json:
        _print_json(results)
        return
    for label, result in results.items():
        state = "modifié" if result["changed"] else "inchangé"
        click.echo(f"{label} : {state} (version {result['version']})")


@referential.command("show")
@click.option("--json", "as_json", is_flag=True, help="print everything each service holds, as JSON")
def referential_show(as_json: bool) -> None:
    """What each service holds of the referential."""
    view = _run(referential_commands.show)
    if as_json:
        _print_json(view)
    else:
        click.echo("\n".join(referential_commands.summary(view)))


@main.group()
def deadletters() -> None:
    """Events a service could not process, parked with their error."""


service_option = click.option("--service", type=click.Choice(SERVICE_NAMES), multiple=True,
                              help="only this service (repeatable); default: all")


@deadletters.command("list")
@service_option
def deadletters_list(service: tuple[str, ...]) -> None:
    async def work(api: Api) -> dict[str, Any]:
        return {s: (await api.request("GET", s, "/admin/dead-letters")).json() for s in service or SERVICE_NAMES}

    _print_json(_run(work))


@deadletters.command("redrive")
@service_option
def deadletters_redrive(service: tuple[str, ...]) -> None:
    """Run the parked events again, once their cause is fixed."""
    async def work(api: Api) -> dict[str, Any]:
        return {s: (await api.request("POST", s, "/admin/dead-letters/redrive")).json()
                for s in service or SERVICE_NAMES}

    results = _run(work)
    _print_json(results)
    if any(r.get("failed") for r in results.values()):
        sys.exit(REFUSED)


@main.command("events")
@service_option
def events(service: tuple[str, ...]) -> None:
    """Print each service's emitted events in order (JSON lines): the log auditors replay."""
    async def work(api: Api) -> list[dict[str, Any]]:
        return [e for s in service or SERVICE_NAMES for e in (await api.request("GET", s, "/admin/events")).json()]

    for entry in _run(work):
        click.echo(json.dumps(entry["envelope"], ensure_ascii=False))


@main.command("serve")
@click.option("--host", default=None, help="default: PRESTAFLOW_HTTP_HOST or 127.0.0.1")
@click.option("--port", type=int, default=None, help="default: PRESTAFLOW_HTTP_PORT or 8000")
def serve(host: str | None, port: int | None) -> None:
    """Every service in one process, one HTTP port, each API under /<service>."""
    from servicekit import serve as server

    from prestaflow.embedded import Embedded

    settings = ServiceSettings()
    settings = settings.model_copy(update={k: v for k, v in {"http_host": host, "http_port": port}.items() if v})
    server.run(Embedded(settings, background_relays=True).app, settings)


@main.command("demo")
@click.option("--out", type=click.Path(path_type=Path), default=Path("demo-output"), show_default=True)
@click.option("--samples", type=click.Path(path_type=Path), default=None,
              help="folder of the sample files (default: ../shared/prestappli/samples beside the project)")
def demo(out: Path, samples: Path | None) -> None:
    """The whole scenario built so far, on the embedded default, from a fresh state in OUT."""
    from prestaflow.demo import run_demo

    sys.exit(run_demo(out, samples))


if __name__ == "__main__":
    main()
