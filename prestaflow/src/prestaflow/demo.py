"""``prestaflow demo``: every step built so far, on the embedded default, from a fresh state."""

import asyncio
import json
import shutil
from pathlib import Path

import click
import yaml

from servicekit.settings import ServiceSettings

from prestaflow import referential
from prestaflow.client import Api

DEFAULT_SAMPLES = Path(__file__).resolve().parents[3] / ".." / "shared" / "prestappli" / "samples"


def _say(text: str = "") -> None:
    click.echo(text)


async def _scenario(out: Path, samples: Path) -> None:
    settings = ServiceSettings(home=out / "state", bus="memory://", database_url=None)
    source = samples / "referentiel.yaml"
    async with Api(settings) as api:
        _say(f"1. Chargement du référentiel {source.name}")
        for label, result in (await referential.load(api, source)).items():
            _say(f"   {label} : {'modifié' if result['changed'] else 'inchangé'} (version {result['version']})")

        _say("2. Second chargement du même fichier : rien ne change")
        for label, result in (await referential.load(api, source)).items():
            _say(f"   {label} : {'modifié' if result['changed'] else 'inchangé'} (version {result['version']})")

        _say("3. Fichier erroné (antenne inconnue, ressource liée à deux ODS) : refusé en entier")
        broken = yaml.safe_load(source.read_text(encoding="utf-8"))
        broken["sites"][0]["antenne"] = "INCONNUE"
        broken["resources"][0]["ods"] = [broken["resources"][0]["ods"], "AUTRE"]
        broken_path = out / "referentiel-errone.yaml"
        broken_path.write_text(yaml.safe_dump(broken, allow_unicode=True, sort_keys=False), encoding="utf-8")
        try:
            await referential.load(api, broken_path)
        except referential.Refused as exc:
            for message in exc.messages:
                _say(f"   - {message}")

        _say("4. Ce que chaque service connaît du référentiel")
        view = await referential.show(api)
        for line in referential.summary(view):
            _say(f"   {line}")
        (out / "referential.json").write_text(json.dumps(view, indent=2, ensure_ascii=False), encoding="utf-8")

        events = []
        for runtime in api.embedded.runtimes:
            events += (await api.request("GET", runtime.name, "/admin/events")).json()
        with (out / "events.jsonl").open("w", encoding="utf-8") as log:
            for entry in sorted(events, key=lambda e: e["envelope"]["occurred_at"]):
                log.write(json.dumps(entry["envelope"], ensure_ascii=False) + "\n")
        _say(f"5. Journal des événements : {len(events)} événement(s)")


def run_demo(out: Path, samples: Path | None) -> int:
    samples = (samples or DEFAULT_SAMPLES).resolve()
    if not (samples / "referentiel.yaml").exists():
        click.echo(f"Fichiers d'exemple introuvables dans {samples} (option --samples).", err=True)
        return 2
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    asyncio.run(_scenario(out, samples))
    _say()
    _say(f"Résultats écrits dans {out.resolve()} :")
    for path in sorted(out.iterdir()):
        _say(f"  {path.name}")
    return 0
