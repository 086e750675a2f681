"""``prestaflow demo``: every step built so far, on the embedded default, from a fresh state."""

import asyncio
import email
import email.policy
import json
import shutil
import zipfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import click
import yaml

from servicekit.clock import PARIS, FixedClock
from notify.config import NotifySettings

from prestaflow import (affectation_cli, beneficiary_cli, demo_billing, gdpr_cli, import_cli, journey_cli,
                        journey_views_cli, notify_cli, planning_cli, referential)
from prestaflow.client import AccessRefused, Api

DEFAULT_SAMPLES = Path(__file__).resolve().parents[3] / ".." / "shared" / "prestappli" / "samples"


def _say(text: str = "") -> None:
    click.echo(text)


class Story:
    """Numbers the demo's steps as they are told, so that a step added anywhere needs no renumbering."""

    def __init__(self) -> None:
        self.number = 0

    def step(self, title: str) -> None:
        self.number += 1
        _say(f"{self.number}. {title}")


def _paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS).astimezone(UTC)


async def _scenario(out: Path, samples: Path) -> None:
    # Notify writes its e-mails as files even where PRESTAFLOW_SMTP_HOST is set: the demo's people
    # are invented and their addresses must not be sent anything.
    settings = NotifySettings(home=out / "state", bus="memory://", database_url=None, notify_email="folder",
                              sms_provider="folder")
    source = samples / "referentiel.yaml"
    # The sample lists are for the week of 13 January 2025: the demo lives on their calendar, from
    # the day before the J-10 list arrives to the day after the appointments.
    clock = FixedClock(_paris(2025, 1, 3, 9, 0))
    story = Story()
    async with Api(settings, clock=clock) as api:
        story.step(f"Chargement du référentiel {source.name}")
        for label, result in (await referential.load(api, source)).items():
            _say(f"   {label} : {'modifié' if result['changed'] else 'inchangé'} (version {result['version']})")

        story.step("Second chargement du même fichier : rien ne change")
        for label, result in (await referential.load(api, source)).items():
            _say(f"   {label} : {'modifié' if result['changed'] else 'inchangé'} (version {result['version']})")

        story.step("Fichier erroné (antenne inconnue, ressource liée à deux ODS) : refusé en entier")
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

        story.step("Ce que chaque service connaît du référentiel")
        view = await referential.show(api)
        for line in referential.summary(view):
            _say(f"   {line}")
        (out / "referential.json").write_text(json.dumps(view, indent=2, ensure_ascii=False), encoding="utf-8")

        await _plan_week(api, out, story)
        await _import_lists(api, samples, out, clock, story)
        await _assign(api, out, story)
        await _presence_and_messages(api, out, clock, story)
        purged = await _purge(api, clock, story)
        await _journeys(api, out, clock, story)
        await demo_billing.run(api, out, story, clock)
        await _journey_views(api, out, clock, story)

        # Later chapters (billing, access...) go here, in date order; the scan for the purged stays last.
        await _access(api, out, story)
        await _doublon(api, samples, out, clock, story)
        await _nothing_left_of(purged, out, story)

        events = []
        for runtime in api.embedded.runtimes:
            events += (await api.request("GET", runtime.name, "/admin/events")).json()
        with (out / "events.jsonl").open("w", encoding="utf-8") as log:
            for entry in sorted(events, key=lambda e: e["envelope"]["occurred_at"]):
                log.write(json.dumps(entry["envelope"], ensure_ascii=False) + "\n")
        # A list event counts its items: "ActionPlanned 3 (56)" is three events planning 56 actions.
        kinds = Counter(e["envelope"]["type"] for e in events)
        items = Counter()
        for e in events:
            items[e["envelope"]["type"]] += len(e["envelope"]["payload"].get("items", [None]))
        story.step(f"Journal des événements : {len(events)} événement(s), par type (et éléments) : "
             + ", ".join(f"{t} {n}" + (f" ({items[t]})" if items[t] != n else "") for t, n in sorted(kinds.items())))


# The sample advisors' diagnostic slots for the week of the sample lists (14 and 15 January 2025).
WEEK = {"from": "2025-01-13", "to": "2025-01-17"}
FIRST_SLOTS = [
    {"advisor": "cdurand", "site": "ARM", "start": "09:00", "times": "09:00,10:00,11:00,14:00"},
    {"advisor": "kbenamar", "site": "LIL", "start": "14:00", "times": "14:00,15:00"},
    {"advisor": "mpetit", "site": "LIL", "start": "09:30", "times": "09:30,10:30,11:30"},
    {"advisor": "kbenamar", "site": "DIST", "start": "09:00", "times": "09:00,10:00", "remote": True},
]


async def _plan_week(api: Api, out: Path, story: Story) -> None:
    story.step("Planification des entretiens de diagnostic de la semaine du 13/01/2025 (duplication sans liaison)")
    for slot in FIRST_SLOTS:
        first = await planning_cli.plan(api, {
            "advisor": slot["advisor"], "site": slot["site"], "mode": "remote" if slot.get("remote") else "on_site",
            "starts_at": f"{WEEK['from']}T{slot['start']}",
            "ends_at": f"{WEEK['from']}T{int(slot['start'][:2]) + 1:02d}:{slot['start'][3:]}", "step": 1})
        result = await planning_cli.duplicate(api, first["action_id"], {"weekly": {
            "first_day": WEEK["from"], "last_day": WEEK["to"], "weekdays": [1, 2, 3, 4, 5],
            "times": slot["times"].split(",")}})
        _say(f"   {slot['advisor']} à {slot['site']} : 1 + {len(result['created'])} créneau(x), "
             f"{len(result['refused'])} copie(s) refusée(s) (déjà occupé)")
    try:
        await planning_cli.plan(api, {"advisor": "cdurand", "site": "LIL", "starts_at": "2025-01-13T09:00",
                                      "ends_at": "2025-01-13T12:00", "step": 1})
    except referential.Refused as exc:
        _say("   Refusé (plage de 3 h sur un site où la conseillère ne travaille pas) :")
        for message in exc.messages:
            _say(f"   - {message}")
    story.step("Exports de la planification Activ'Créa (fichier France Travail et classeur par site)")
    for path in await planning_cli.export(api, WEEK, out):
        _say(f"   {path.name}")


async def _send_due(api: Api, clock: FixedClock, at: datetime, what: str) -> None:
    clock.at = at
    sent = await notify_cli.call(api, "POST", "/outbox/send")
    _say(f"   {at.astimezone(PARIS):%d/%m/%Y %H:%M}, {what} : {sent['sent']} message(s) envoyé(s), "
         f"{sent['not_sent']} non envoyé(s), {sent['cancelled']} annulé(s)")


async def _import_lists(api: Api, samples: Path, out: Path, clock: FixedClock, story: Story) -> None:
    reports = []
    lists = (("J-10", "liste_inscrits_J-10.csv", _paris(2025, 1, 4, 10, 0)),
             ("J-2", "liste_inscrits_J-2.csv", _paris(2025, 1, 12, 10, 0)))
    for which, name, arrives_at in lists:
        clock.at = arrives_at
        story.step(f"Import de la liste des inscrits {name} (le {arrives_at.astimezone(PARIS):%d/%m/%Y})")
        report = await import_cli.upload(api, samples / name, "ACR2025-L12", False, None, "demo")
        reports.append(report)
        for line in import_cli.report_lines(report):
            _say(f"   {line}")
        if which == "J-10":
            await _send_due(api, clock, arrives_at, "envoi immédiat (accès Mon Bureau Virtuel)")
            await _send_due(api, clock, _paris(2025, 1, 4, 19, 0), "envoi quotidien de 19 h")
            for day in (7, 8, 9):  # J-7 of the appointments of the 14th, 15th and 16th
                await _send_due(api, clock, _paris(2025, 1, day, 10, 0), "J-7, relance Mon Bureau Virtuel")
        else:
            await _send_due(api, clock, _paris(2025, 1, 12, 19, 0), "envoi quotidien de 19 h")
    (out / "imports.json").write_text(json.dumps(reports, indent=2, ensure_ascii=False), encoding="utf-8")
    actions = await planning_cli.agenda(api, {"from": "2025-01-13", "to": "2025-01-17"})
    booked = [a for a in actions if a["participants"] or a["to_assign"]]
    _say(f"   Agendas après import : {len(booked)} rendez-vous concernés (« à affecter » : créé par l'import, "
         "en attente d'un conseiller)")
    for action in booked:
        _say(f"     {planning_cli.describe(action)}")
    (out / "agendas.json").write_text(json.dumps(actions, indent=2, ensure_ascii=False), encoding="utf-8")


async def _assign(api: Api, out: Path, story: Story) -> None:
    story.step("Affectation des rendez-vous créés par l'import (premier candidat de chaque rendez-vous)")
    rows = await affectation_cli.worklist(api, None, None)
    for line in affectation_cli.worklist_lines(rows):
        _say(f"   {line}")
    for row in rows:
        best = row["candidates"][0]
        result = await affectation_cli.assign(api, row["action_id"], best["advisor"], best["target_action_id"],
                                              best["site"], "demo")
        _say(f"   → {best['advisor_name']} : {result['effect']}")
    left = await affectation_cli.worklist(api, None, None)
    _say(f"   Reste à affecter : {len(left)}")
    actions = await planning_cli.agenda(api, {"from": "2025-01-13", "to": "2025-01-17"})
    _say("   Agendas : rendez-vous avec un participant")
    for action in actions:
        if action["participants"]:
            _say(f"     {planning_cli.describe(action)}")
    (out / "agendas.json").write_text(json.dumps(actions, indent=2, ensure_ascii=False), encoding="utf-8")


async def _presence_and_messages(api: Api, out: Path, clock: FixedClock, story: Story) -> None:
    story.step("Envois quotidiens de 19 h des jours suivants (rappels J-2, annulations)")
    for day in (13, 14):
        await _send_due(api, clock, _paris(2025, 1, day, 19, 0), "envoi quotidien de 19 h")
    clock.at = _paris(2025, 1, 15, 18, 0)
    story.step("Présences validées après les entretiens (le 15/01/2025) : mail RGPD à la première présence")
    actions = await planning_cli.agenda(api, {"from": "2025-01-13", "to": "2025-01-15"})
    for action in actions:
        if not action["participants"] or datetime.fromisoformat(action["ends_at"]) > clock.at:
            continue
        detail = await planning_cli.action(api, action["action_id"])
        for participant in detail["participant_list"]:
            await planning_cli.validate_presence(api, action["action_id"], participant["beneficiary_id"], "oui")
            _say(f"     présent : {planning_cli.describe(action)}")
    await _send_due(api, clock, clock.at, "mails RGPD")
    messages = await notify_cli.call(api, "GET", "/outbox")
    _say(f"   Messages : {len(messages)}, par état : " + ", ".join(
        f"{label} {n}" for label, n in sorted(Counter(m["status_label"] for m in messages).items())))
    for line in notify_cli.outbox_lines(messages)[:-1]:
        _say(f"     {line}")
    written = await notify_cli.write_demo_messages(api, out / "messages")
    _say(f"   {len(written)} e-mail(s) écrits en .eml dans {out.name}/messages")
    for line in await gdpr_cli.demo_agreements(api, written):  # BEN-02: accord numérique, accord papier
        _say(f"   {line}")


async def _purge(api: Api, clock: FixedClock, story: Story) -> list[dict]:
    """X-04: the records of people not confirmed at J-2 are purged five days later (17/01/2025);
    returns what identified them, for the last chapter's scan."""
    clock.at = _paris(2025, 1, 17, 10, 0)
    due = [p for p in (await api.request("GET", "importer", "/beneficiaries")).json()
           if p["purge_on"] and p["purge_on"] <= "2025-01-17" and not p["purged_at"]]
    story.step("Purge RGPD du 17/01/2025 : fiches non confirmées à J-2, cinq jours plus tard")
    purged = (await api.request("POST", "importer", "/purge")).json()["purged"]
    for person in due:
        _say(f"   {person['last_name']} {person['first_name']} : "
             f"{'supprimé(e)' if person['id'] in purged else 'non supprimé(e)'} (fiche, rendez-vous, messages, "
             "clé de chiffrement de ses événements)")
    return [p for p in due if p["id"] in purged]


def _traces(person: dict) -> list[str]:
    """What identifies a person in text: names, identifiant, e-mail, phone (as imported and as written)."""
    phone = person.get("phone") or ""
    national = f"0{phone[3:]}" if phone.startswith("+33") else ""
    spaced = ".".join(national[i:i + 2] for i in range(0, len(national), 2))
    return [v for v in (person["last_name"], f"{person['first_name']} {person['last_name']}", person["ft_id"],
                        person.get("email"), phone, national, spaced) if v]


def _readable(path: Path) -> str:
    """A file as a reader (or a tool) sees it: e-mails decoded (headers and parts), spreadsheets and
    archives unzipped, anything else as its bytes in UTF-8 and Windows-1252."""
    data = path.read_bytes()
    if path.suffix == ".eml":
        mail = email.message_from_bytes(data, policy=email.policy.default)
        return "\n".join([f"{k}: {v}" for k, v in mail.items()] + [
            part.get_content() for part in mail.walk() if part.get_content_maintype() == "text"])
    texts = [data.decode("utf-8", "replace"), data.decode("cp1252", "replace")]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            texts += [archive.read(name).decode("utf-8", "replace") for name in archive.namelist()]
    return "\n".join(texts)


async def _nothing_left_of(purged: list[dict], out: Path, story: Story) -> None:
    """X-04: every database and file the demo wrote, read byte by byte (SQLite files with their free
    pages and write-ahead log, e-mails decoded) for what identified the purged people."""
    story.step("Après la purge : recherche des personnes supprimées dans chaque base et chaque fichier écrit")
    files = sorted(p for p in out.rglob("*") if p.is_file())
    state = out / "state"
    for person in purged:
        traces = _traces(person)
        found = {path: [t for t in traces if t in _readable(path)] for path in files}
        found = {path: hits for path, hits in found.items() if hits}
        inside = [path for path in found if path.is_relative_to(state)]
        size = sum(path.stat().st_size for path in files if path.is_relative_to(state))
        _say(f"   {person['last_name']} {person['first_name']} ({len(traces)} valeurs cherchées : nom, identifiant, "
             "téléphone...)")
        _say(f"   - bases et fichiers des services ({state.name}/ : "
             f"{sum(1 for p in files if p.is_relative_to(state))} fichiers, {size // 1024} Kio) : "
             + ("aucune trace" if not inside else "TROUVÉ dans " + ", ".join(p.name for p in inside)))
        for path in (p for p in found if p not in inside):
            _say(f"   - {path.relative_to(out)} : copie écrite par la démo avant la purge (hors des services, "
                 "comme un compte rendu téléchargé), le nomme encore")
# How each journey attended on 14-15 January ends (PRC-02), in the order of their first action: the day
# the form is saved, and what is saved. The réorienté one ends on its initial interview.
JOURNEY_ENDINGS = (
    ("réorienté vers France Travail après l'entretien initial", (2025, 1, 20), {"initial_outcome": "reoriente"}),
    ("abandon", (2025, 2, 20), {"initial_outcome": "poursuivi", "outcome_on": "2025-02-19",
                                "abandon_reason": "Ne se présente plus aux rendez-vous"}),
    ("sortie anticipée", (2025, 3, 10), {"initial_outcome": "poursuivi", "outcome_on": "2025-03-07",
                                         "early_exit_reason": "Reprise d'emploi"}),
    ("bilan : création opportune", (2025, 4, 10), {
        "initial_outcome": "poursuivi", "outcome_on": "2025-04-09",
        "bilan_reason": "Création ou reprise d'entreprise opportune",
        "bilan_detail": "Projet de boulangerie viable, prêt d'honneur obtenu"}),
)


async def _journeys(api: Api, out: Path, clock: FixedClock, story: Story) -> None:
    """PRC-01..PRC-03, PRC-07: the journeys opened by the import get their forms over the following
    months and close, each with one ODSClosed for billing."""
    story.step("Parcours ouverts à la première inscription (début = premier rendez-vous, fin = début + 90 jours)")
    journeys = await journey_cli.list_journeys(api, {})
    for j in journeys:
        _say(f"   {journey_cli.list_line(j)}")
    attended = []
    for j in journeys:
        shown = await journey_cli.show(api, j["id"])
        present = [a for a in shown["actions"] if a["presence"] == "oui"]
        if present:
            attended.append((present[0]["starts_at"], shown))
    attended.sort(key=lambda pair: pair[0])

    story.step("Le temps passe : formulaires « prestation spéciale » saisis (enregistrements partiels)")
    for (first, journey), (label, day, ending) in zip(attended, JOURNEY_ENDINGS):
        clock.at = _paris(*day, 10, 0)
        interview = first[:10]
        await journey_cli.save_form(api, journey["id"], {"initial_interview_on": interview})
        saved = await journey_cli.save_form(api, journey["id"], ending)
        _say(f"   {clock.at.astimezone(PARIS):%d/%m/%Y} {journey['id']} ({label}) : situation « {saved['situation']} »")
        if ending.get("initial_outcome") == "reoriente":
            result = await journey_cli.change_dates(api, journey["id"], None, interview)
            _say(f"     fin du parcours ramenée au {journey_cli.day_text(interview)} : "
                 + ("clôturé à l'enregistrement (ODSClosed)" if result["closed"] else "ouvert"))
        if ending.get("abandon_reason"):
            try:
                await journey_cli.save_form(api, journey["id"], {"early_exit_reason": "Reprise d'emploi"})
            except referential.Refused as exc:
                _say("     Refusé (deux motifs de fin) : " + " ".join(exc.messages))

    clock.at = _paris(2025, 4, 16, 2, 0)
    story.step("Passage quotidien du 16/04/2025 : clôture des parcours échus dont la fin est renseignée (PRC-07)")
    result = await journey_cli.close_due(api)
    _say(f"   {len(result['closed'])} parcours clôturé(s), {result['open_past_end']} échu(s) sans fin renseignée")
    again = await journey_cli.close_due(api)
    _say(f"   Second passage : {len(again['closed'])} clôture (une seule clôture par parcours)")
    log = (await api.request("GET", "planning", "/admin/events")).json()
    closings = [i for e in log if e["envelope"]["type"] == "ODSClosed" for i in e["envelope"]["payload"]["items"]]
    _say(f"   ODSClosed émis pour la facturation : {len(closings)}")
    for c in closings:
        _say(f"     {c['enrolment_id']} : {journey_cli.OUTCOMES[c['outcome']]} le {journey_cli.day_text(c['outcome_date'])}"
             f", ODS du {journey_cli.day_text(c['ods_start'])} au {journey_cli.day_text(c['ods_end'])}, site {c['site']}"
             f", commande {c['order_number'] or '-'}, clôturé le {journey_cli.day_text(c['closed_on'])}")
    final = await journey_cli.list_journeys(api, {})
    for j in final:
        _say(f"   {journey_cli.list_line(j)}")
    (out / "journeys.json").write_text(json.dumps(
        [await journey_cli.show(api, j["id"]) for j in final], indent=2, ensure_ascii=False), encoding="utf-8")


async def _journey_views(api: Api, out: Path, clock: FixedClock, story: Story) -> None:
    """PRC-04, PRC-05, PRC-06, PRC-09: the dashboard and its workbook, the alerts, each closed journey's
    two deliverables, one beneficiary's timeline."""
    clock.at = _paris(2025, 5, 5, 9, 0)
    story.step("Tableau de suivi Activ'Créa des parcours commencés en janvier 2025 (PRC-04)")
    params = journey_views_cli.dashboard_params(datetime(2025, 1, 1), datetime(2025, 1, 31), None, False)
    rows = await journey_views_cli.dashboard(api, params)
    for line in journey_views_cli.dashboard_lines(rows):
        _say(f"   {line}")
    book = await journey_views_cli.dashboard_xlsx(api, params, out / "tableau_de_suivi.xlsx")
    _say(f"   Classeur écrit : {book.name} ({len(rows)} ligne(s) sous l'en-tête)")

    story.step("Alertes du 05/05/2025 (PRC-05)")
    alerts = await journey_views_cli.alerts(api)
    if not alerts:
        _say("   Aucune alerte.")
    for alert in alerts:
        _say(f"   {alert['title']} : {alert['last_name']} {alert['first_name']} [{alert['enrolment_id']}] : "
             f"{alert['reason']}")
    (out / "alertes.json").write_text(json.dumps(alerts, indent=2, ensure_ascii=False), encoding="utf-8")

    story.step(f"Livrables des parcours clôturés : bilan et émargement en PDF dans {out.name}/livrables (PRC-06)")
    closed = [r for r in await journey_views_cli.dashboard(api, {"all": "true"}) if r["status"] == "closed"]
    for row in closed:
        try:
            written = await journey_views_cli.deliverables(api, row["id"], out / "livrables")
        except referential.Refused as exc:
            _say(f"   {row['id']} : refusé : " + " ".join(exc.messages))
            continue
        for document, path in written:
            _say(f"   {path.name} (SHA-256 {document['sha256'][:16]}…)")

    if closed:
        person = closed[-1]["beneficiary_id"]
        story.step(f"Historique (timeline) du bénéficiaire {person} (PRC-09)")
        lines = await journey_views_cli.timeline(api, person)
        for line in lines:
            _say(f"   {datetime.fromisoformat(line['at']):%d/%m/%Y %H:%M}  {line['text']}")
        (out / "timeline.json").write_text(json.dumps(lines, indent=2, ensure_ascii=False), encoding="utf-8")


ACCESS = {
    "profiles": [
        {"code": "CONSEILLER-DOUAISIS", "name": "Conseiller de l'antenne Douaisis",
         "rights": {"planning": "écriture", "affectation": "écriture", "import": "lecture"}, "antennes": ["DOUAISIS"]},
        {"code": "ADMINISTRATEUR", "name": "Administrateur", "antennes": "toutes",
         "rights": {m: "écriture" for m in ("planning", "import", "affectation", "parcours", "facturation",
                                            "notifications", "administration", "audit")}}],
    "users": [{"code": "kbenamar", "name": "Karim BENAMAR", "advisor": "kbenamar",
               "profiles": ["CONSEILLER-DOUAISIS"]}],
}


async def _access(api: Api, out: Path, story: Story) -> None:
    """SEC-02, SEC-04: profiles of rights, an advisor of another antenne refused, who did what."""
    story.step("Profils de droit : un conseiller du Douaisis ne voit ni ne modifie rien de Lille")
    path = out / "profils.yaml"
    path.write_text(yaml.safe_dump(ACCESS, allow_unicode=True, sort_keys=False), encoding="utf-8")
    await referential.load(api, path)
    _say(f"   {path.name} chargé : profils {', '.join(p['code'] for p in ACCESS['profiles'])} ; "
         f"utilisateur kbenamar → CONSEILLER-DOUAISIS")
    as_advisor = {"X-Prestaflow-User": "kbenamar"}  # embedded only: act as a referential user
    everything = (await api.request("GET", "planning", "/actions")).json()
    seen = (await api.request("GET", "planning", "/actions", headers=as_advisor)).json()
    _say(f"   l'administrateur local voit {len(everything)} action(s) ; kbenamar en voit {len(seen)}")
    lille = next(a for a in everything if a["site"] in ("ARM", "LIL"))
    try:
        await api.request("POST", "planning", f"/actions/{lille['action_id']}/cancel", json={}, headers=as_advisor)
    except AccessRefused as refused:
        _say(f"   kbenamar annule l'action {lille['action_id'][:8]}… de {lille['site']} : refusé ({refused.status})")
        for message in refused.messages:
            _say(f"     - {message}")
    from prestaflow.audit_who import who

    done = Counter(r["actor"] for r in await who(api))
    _say("   qui a fait quoi (prestaflow audit who) : " + ", ".join(f"{a} {n} événement(s)" for a, n in done.items()))


async def _doublon(api: Api, samples: Path, out: Path, clock: FixedClock, story: Story) -> None:
    """BEN-03: a later list brings Léa DUPONT again under another identifiant, her name typed otherwise: the
    import reports the doublon without merging it; staff merge it, and every service follows."""
    clock.at = _paris(2025, 5, 5, 10, 0)
    story.step("Doublon : une liste du 05/05/2025 ramène DUPONT Léa sous un autre identifiant ; signalé, puis "
               "fusionné (BEN-03)")
    lines = (samples / "liste_inscrits_J-10.csv").read_bytes().decode("cp1252").splitlines()
    fields = lines[1].split(";")  # DUPONT Léa, born 23/05/1988, 1234567A
    fields[6:9] = ["15/05/2025 10:00", fields[7], "05/05/2025"]
    fields[13:19] = ["Dupont", "LEA", "1234567Z", "", "", ""]  # no address: nothing is sent to anybody
    path = out / "liste_inscrits_doublon.csv"
    path.write_bytes(("\r\n".join([lines[0], ";".join(fields)]) + "\r\n").encode("cp1252"))
    report = await import_cli.upload(api, path, "ACR2025-L12", False, None, "demo")
    for line in import_cli.report_lines(report):
        _say(f"   {line}")
    pairs = await beneficiary_cli.duplicates(api)
    _say("   prestaflow beneficiary duplicates :")
    for line in beneficiary_cli.pair_lines(pairs):
        _say(f"     {line}")
    pair = pairs[0]
    result = await beneficiary_cli.merge(api, pair["keep"]["id"], pair["other"]["id"])
    _say(f"   prestaflow beneficiary merge {pair['keep']['id']} {pair['other']['id']} :")
    for line in beneficiary_cli.merge_lines(result):
        _say(f"     {line}")
    try:
        await beneficiary_cli.merge(api, pair["keep"]["id"], pair["other"]["id"])
    except referential.Refused as exc:
        _say("   La même fusion une seconde fois : refusée : " + " ".join(exc.messages))
    left = await beneficiary_cli.duplicates(api)
    _say(f"   Doublons restants : {len(left)}")


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
