"""``prestaflow audit``: export the event log, verify its hash chains, replay it into fresh copies of
the five services and compare each one's state digest with the live service's (OPS-04, X-01).

The log is read from the Kafka topics (``--from-kafka``), from an export folder, or, for the
embedded default that has no durable broker, from the services' outboxes. An export folder holds one
``<topic>.jsonl`` per producer topic (each line a message's value exactly as published, so that its
hash can be checked) and ``manifest.json`` (each file's event count, each producer's chain head).

Nothing here writes to a live service: the replay builds fresh SQLite databases in a temporary
folder and only reads the live services' digests (and importer's keys, to read sealed names)."""

import json
import tempfile
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from contracts import Envelope
from contracts.envelope import GENESIS, event_hash
from contracts.registry import UnknownEvent, parse_event
from contracts.topics import BY_PRODUCER
from servicekit.bus import Bus, read_topics, security_options
from servicekit.clock import FixedClock
from servicekit.keys import HttpKeySource
from servicekit.runtime import ServiceRuntime, runtime_digest
from servicekit.settings import ServiceSettings

from prestaflow.embedded import BOOTSTRAPS, SERVICE_NAMES

MANIFEST = "manifest.json"
FORMAT = 1


class AuditRefused(Exception):
    """The log cannot be audited as given (truncated, unknown event, unreadable): French messages."""

    def __init__(self, messages: list[str]):
        super().__init__("\n".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class Entry:
    """One event of the log: its bytes as published, where it was read, and its envelope."""

    topic: str
    raw: bytes
    where: str
    envelope: Envelope

    @property
    def label(self) -> str:
        e = self.envelope
        number = f"n°{e.sequence} " if e.sequence is not None else ""
        return f"l'événement {number}de {e.producer} ({e.type}, {e.event_id}, {self.where})"


def _entry(topic: str, raw: bytes, where: str, problems: list[str]) -> Entry | None:
    try:
        envelope = Envelope.model_validate_json(raw)
    except ValidationError as exc:
        text = raw[:60].decode(errors="replace")
        problems.append(f"{where} : enveloppe illisible ({exc.error_count()} erreur(s), début : {text!r}) ; "
                        "fichier tronqué ou modifié ?")
        return None
    try:
        parse_event(envelope)
    except UnknownEvent:
        problems.append(f"{where} : type d'événement inconnu « {envelope.type} » (version {envelope.version}) ; "
                        f"attendu : un des types publiés dans contracts/schemas")
        return None
    except ValidationError as exc:
        problems.append(f"{where} : contenu de {envelope.type} v{envelope.version} non conforme à son schéma "
                        f"({exc.error_count()} erreur(s))")
        return None
    return Entry(topic, raw, where, envelope)


def _checked(entries: list[Entry | None], problems: list[str]) -> list[Entry]:
    if problems:
        raise AuditRefused(problems)
    return [e for e in entries if e is not None]


# --- reading the log --------------------------------------------------------------------------------

def topics(namespace: str = "") -> dict[str, str]:
    """Each producer's topic."""
    return {producer: namespace + topic for producer, topic in BY_PRODUCER.items()}


async def from_kafka(bootstrap: str, settings: ServiceSettings) -> list[Entry]:
    """Every producer topic from the beginning, as the Kafka user of ``settings`` (the ``auditor``
    KafkaUser in a deployment: PRESTAFLOW_KAFKA_USERNAME, _PASSWORD, _CA_FILE)."""
    names = topics(settings.topic_namespace)
    read = await read_topics(bootstrap, list(names.values()), security_options(settings))
    problems: list[str] = []
    entries = [_entry(topic, value, f"{topic} partition {partition} offset {offset}", problems)
               for topic in names.values() for partition, offset, value in read[topic]]
    return _checked(entries, problems)


async def from_outboxes(api) -> list[Entry]:
    """The embedded default has no durable broker: each service's outbox is its log."""
    problems: list[str] = []
    entries = []
    for service in SERVICE_NAMES:
        after = 0
        while page := (await api.request("GET", service, "/admin/events", settle=False,
                                         params={"after": after, "limit": 10000})).json():
            entries += [_entry(BY_PRODUCER[service], e["raw"].encode(), f"outbox de {service} n°{e['position']}",
                               problems) for e in page]
            after = page[-1]["position"]
    return _checked(entries, problems)


def from_export(folder: Path) -> tuple[list[Entry], dict[str, Any]]:
    """The log an export wrote, checked against its manifest (a missing or cut file is refused)."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise AuditRefused([f"{manifest_path} : manifeste absent ; attendu : un dossier écrit par "
                            "« prestaflow audit export »"])
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files = manifest["topics"]
    except (ValueError, KeyError, TypeError):
        raise AuditRefused([f"{manifest_path} : manifeste illisible (JSON avec « topics » attendu)"]) from None
    problems: list[str] = []
    entries: list[Entry | None] = []
    for topic, described in sorted(files.items()):
        path = folder / described["file"]
        if not path.is_file():
            problems.append(f"{path.name} : fichier absent ; le manifeste annonce {described['events']} événement(s)")
            continue
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            problems.append(f"{path.name} : fichier tronqué (la dernière ligne n'est pas terminée)")
        lines = data.splitlines()
        if len(lines) != described["events"]:
            problems.append(f"{path.name} : {len(lines)} ligne(s) ; le manifeste annonce {described['events']} "
                            "événement(s) ; fichier tronqué ou complété ?")
        entries += [_entry(topic, line, f"{path.name} ligne {number}", problems)
                    for number, line in enumerate(lines, 1)]
    return _checked(entries, problems), manifest


def export(entries: list[Entry], folder: Path, source: str) -> dict[str, Any]:
    """Write ``entries`` to ``folder`` (one file per topic, values verbatim) with its manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    by_topic: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_topic[entry.topic].append(entry)
    manifest: dict[str, Any] = {"format": FORMAT, "source": source,
                                "exported_at": datetime.now(UTC).isoformat(), "topics": {}, "chains": heads(entries)}
    for topic in sorted(by_topic):
        name = f"{topic}.jsonl"
        with (folder / name).open("wb") as out:
            for entry in by_topic[topic]:
                out.write(entry.raw + b"\n")
        manifest["topics"][topic] = {"file": name, "events": len(by_topic[topic])}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return manifest


# --- the hash chains --------------------------------------------------------------------------------

def _chains(entries: list[Entry]) -> tuple[dict[str, list[Entry]], dict[str, int]]:
    """Each producer's chained events by sequence (a redelivered copy counted once), and how many
    events of each producer predate the chain."""
    chains: dict[str, dict[int, Entry]] = defaultdict(dict)
    unchained: dict[str, int] = defaultdict(int)
    for entry in entries:
        e = entry.envelope
        if e.sequence is None:
            unchained[e.producer] += 1
        elif e.sequence not in chains[e.producer] or chains[e.producer][e.sequence].raw == entry.raw:
            chains[e.producer][e.sequence] = entry
        else:  # two different events at one place: keep the first read, the other breaks the chain
            chains[e.producer][-e.sequence] = entry
    return {p: [c[s] for s in sorted(c) if s > 0] for p, c in chains.items()}, dict(unchained)


def heads(entries: list[Entry]) -> dict[str, dict[str, Any]]:
    """Each producer's last chained event: its sequence and hash."""
    chains, _ = _chains(entries)
    return {p: {"sequence": c[-1].envelope.sequence, "last_hash": event_hash(c[-1].raw)} for p, c in chains.items() if c}


def verify(entries: list[Entry], expected_heads: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Walk each producer's chain; for each broken one, the first event that breaks it (French)."""
    chains, unchained = _chains(entries)
    breaks: dict[str, str] = {}
    counts: dict[str, int] = {}
    for producer in sorted({*chains, *(expected_heads or {})}):
        chain = chains.get(producer, [])
        counts[producer] = len(chain)
        previous, previous_hash = None, GENESIS
        for entry in chain:
            e = entry.envelope
            expected = previous.envelope.sequence + 1 if previous else 1
            if e.sequence != expected:
                missing = f"n°{expected}" if e.sequence == expected + 1 else f"n°{expected} à n°{e.sequence - 1}"
                breaks[producer] = (f"{producer} : événement(s) {missing} absent(s) (supprimé(s)) : la chaîne "
                                    f"reprend à {entry.label}")
                break
            if e.previous_hash != previous_hash:
                breaks[producer] = (
                    f"{producer} : {previous.label} a été modifié : son empreinte ne correspond pas à celle "
                    f"qu'enregistre l'événement suivant n°{e.sequence}" if previous else
                    f"{producer} : {entry.label} ne commence pas la chaîne (empreinte précédente non nulle)")
                break
            previous, previous_hash = entry, event_hash(entry.raw)
        else:
            head = (expected_heads or {}).get(producer)
            if head and previous is None:
                breaks[producer] = f"{producer} : aucun événement ; la tête de chaîne attendue est n°{head['sequence']}"
            elif head and previous.envelope.sequence < head["sequence"]:
                breaks[producer] = (f"{producer} : événement(s) n°{previous.envelope.sequence + 1} à "
                                    f"n°{head['sequence']} absent(s) (supprimé(s)) après {previous.label}")
            elif head and previous_hash != head["last_hash"]:
                breaks[producer] = (f"{producer} : {previous.label} a été modifié : son empreinte ne correspond "
                                    "pas à la tête de chaîne enregistrée")
    return {"events": len(entries), "chained": counts, "unchained": unchained, "breaks": breaks,
            "intact": not breaks}


# --- the replay ---------------------------------------------------------------------------------------

_PRODUCER_ORDER = {name: i for i, name in enumerate(SERVICE_NAMES)}


def in_order(entries: list[Entry]) -> list[Envelope]:
    """The log as the services lived it: by time, then producer and place in its chain, each event
    once, and never before the event it answers (events of one instant, a fixed clock's, tie)."""
    unique: dict[str, Envelope] = {}
    for entry in sorted(entries, key=lambda e: (e.envelope.occurred_at, _PRODUCER_ORDER.get(e.envelope.producer, 9),
                                                e.envelope.sequence or 0)):
        unique.setdefault(entry.envelope.event_id, entry.envelope)
    ordered: list[Envelope] = []
    done: set[str] = set()
    waiting: dict[str, list[Envelope]] = defaultdict(list)

    def place(envelope: Envelope) -> None:
        ordered.append(envelope)
        done.add(envelope.event_id)
        for answer in waiting.pop(envelope.event_id, []):
            place(answer)

    for envelope in unique.values():
        cause = envelope.causation_id
        if cause in unique and cause not in done:
            waiting[cause].append(envelope)
        else:
            place(envelope)
    return ordered


async def rebuild(log: list[Envelope], home: Path, key_source: HttpKeySource | None = None,
                  seed: dict[str, Callable[[ServiceRuntime], Awaitable[None]]] | None = None,
                  only: tuple[str, ...] = SERVICE_NAMES, settings: ServiceSettings | None = None
                  ) -> dict[str, dict[str, Any]]:
    """Feed each service's input events from ``log`` into a fresh copy of it (SQLite under ``home``,
    relays never run, nothing published), and its own events that its commands emitted to its
    ``restorers``, and return each one's state digest (with ``refused``: the
    first event its handlers refused, in French, if one was). ``seed``: state to give a copy first.
    ``settings``: other fresh databases (the bench's own PostgreSQL schemas), never a live service's."""
    settings = settings or ServiceSettings(home=home, bus="memory://", database_url=None)
    clock = FixedClock(log[-1].occurred_at if log else datetime.now(UTC))
    caused = {envelope.event_id for envelope in log}  # an own event answering one of these is no command's
    digests: dict[str, dict[str, Any]] = {}
    for name, bootstrap in zip(SERVICE_NAMES, BOOTSTRAPS, strict=True):
        if name not in only:
            continue
        runtime = bootstrap(Bus("memory://"), settings, clock=clock)
        try:
            await runtime.database.migrate()
            if runtime.key_source is not None and key_source is not None:
                runtime.key_source = key_source
            if seed and name in seed:
                await seed[name](runtime)
            handlers = runtime.dispatcher.handlers
            restorers = {model.event_type: handler for model, handler in runtime.restorers.items()}
            applied, refused = 0, None
            for envelope in log:
                if envelope.producer == name:  # its own event: what one of its commands decided?
                    handler = restorers.get(envelope.type) if envelope.causation_id not in caused else None
                else:
                    handler = handlers.get(envelope.type)
                if handler is None:
                    continue
                clock.at = envelope.occurred_at  # what a handler stamps is the event's time
                try:
                    await runtime.dispatcher.handle(envelope, handler)
                except Exception as exc:  # noqa: BLE001 - reported: the copy cannot be compared
                    refused = f"{name} : {envelope.type} {envelope.event_id} refusé au rejeu : {exc}"
                    break
                applied += 1
            digests[name] = await runtime_digest(runtime) | {"applied": applied, "refused": refused}
        finally:
            await runtime.database.dispose()
    return digests


def compare(rebuilt: dict[str, dict[str, Any]], live: dict[str, dict[str, Any]],
            log_heads: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per service: identical or not, and which tables differ."""
    services = {}
    for name, mine in rebuilt.items():
        theirs = live[name]
        tables = sorted(t for t in {*mine["tables"], *theirs["tables"]}
                        if mine["tables"].get(t) != theirs["tables"].get(t))
        services[name] = {
            "identical": mine["digest"] == theirs["digest"], "digest": mine["digest"], "live_digest": theirs["digest"],
            "applied": mine["applied"], "refused": mine["refused"], "differing_tables": {
                t: {"replay_rows": mine["tables"].get(t, {}).get("rows"), "live_rows": theirs["tables"].get(t, {}).get("rows")}
                for t in tables},
            # The live chain head must be the log's: else the log misses events the service emitted.
            "log_complete": theirs.get("chain") == log_heads.get(name),
            # Tables no replay can rebuild by design (ServiceRuntime.unreplayable), out of both digests.
            "excluded": theirs.get("excluded") or {},
        }
    return {"services": services,
            "identical": all(s["identical"] and s["log_complete"] for s in services.values())}


async def replay(entries: list[Entry], api, expected_heads: dict[str, Any] | None = None) -> dict[str, Any]:
    """Verify the chains, then rebuild every service from the log in a temporary folder and compare
    with the live digests. A broken chain is refused before anything is replayed."""
    checked = verify(entries, expected_heads)
    if not checked["intact"]:
        raise AuditRefused(["Chaîne d'événements rompue, rejeu refusé :", *checked["breaks"].values()])
    live = {name: (await api.request("GET", name, "/admin/digest", settle=False)).json() for name in SERVICE_NAMES}
    key_source = None
    if api.transport is not None or api.url:
        base = api._address("importer", "").rsplit("/importer", 1)[0]
        key_source = HttpKeySource(base, transport=api.transport, auth=api.auth)
    with tempfile.TemporaryDirectory(prefix="prestaflow-audit-") as tmp:
        rebuilt = await rebuild(in_order(entries), Path(tmp), key_source)
    return {"events": len(entries), **compare(rebuilt, live, heads(entries))}
