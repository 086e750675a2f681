"""X-03 and X-04 in notify (issue #20, cases 4-6): a message that cannot be made is *non envoyé* with
its reason, a person's data is never template text, and the purge deletes the sent copies written as
files (read back decoded: MIME headers and bodies)."""

import email
import email.policy
from datetime import UTC, datetime

import pytest

from contracts.base import ListEvent
from contracts.importer import BeneficiaryPurged, BeneficiaryRegistered, RegistrationRecorded
from notify.config import NotifySettings
from servicekit.clock import PARIS, FixedClock

TEMPLATES = [{"code": "ACR-PRESENTATION", "channel": "email",
              "subject": "Votre rendez-vous du {{ action.date }}, {{ beneficiary.full_name }}"}]
RULES = [{"ods": "ACR2025", "confirmation": "any", "template": "ACR-PRESENTATION", "delay_days": 0}]


def one(event_type: type[ListEvent], **fields) -> ListEvent:
    return event_type(items=(event_type.item_type(**fields),))


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS).astimezone(UTC)


async def person(n, who: str, last: str, first: str = "Léa", email_address: str = "lea.dupont@example.org",
                 phone: str = "+33612345678") -> None:
    """A registration as importer announces it, and its appointment."""
    identity = {"ft_id": "1234567A", "civility": "Mme", "last_name": last, "first_name": first,
                "birth_date": "1988-05-23", "postcode": "59280", "email": email_address, "phone": phone}
    await n.feed(one(BeneficiaryRegistered, beneficiary_id=who, sealed=n.importer.seal(who, identity),
                     accepts_email=True, accepts_sms=True))
    await n.feed(one(RegistrationRecorded, registration_id=f"r-{who}", beneficiary_id=who, enrolment_id=f"e-{who}",
                     resource="ACR2025-L12", ods="ACR2025", site="ARM", starts_at=paris(2025, 4, 1, 10, 0),
                     remote=False, order_number=None, list_kind="J-10"))


@pytest.fixture
async def smtp_notify(sqlite_settings, smtp_server, smtp_settings, notify_alone):
    async with notify_alone(smtp_settings(sqlite_settings, smtp_server, notify_retry_base_seconds=60),
                            FixedClock(paris(2025, 3, 20, 9, 0))) as n:
        assert (await n.call("PUT", "/setup", json={"templates": TEMPLATES, "rules": RULES})).status_code == 200
        yield n


@pytest.fixture
async def folder_notify(sqlite_settings, notify_alone):
    """Notify on the embedded default: e-mails and SMS written as files under <home>/notify-outbox."""
    settings = NotifySettings(**sqlite_settings.model_dump() | {"notify_email": "folder", "sms_provider": "folder"})
    async with notify_alone(settings, FixedClock(paris(2025, 3, 20, 9, 0))) as n:
        templates = TEMPLATES + [{"code": "ACR-SMS", "channel": "sms", "body_text": "RDV {{ beneficiary.full_name }}"}]
        rules = RULES + [{"ods": "ACR2025", "confirmation": "any", "template": "ACR-SMS", "delay_days": 0}]
        assert (await n.call("PUT", "/setup", json={"templates": templates, "rules": rules})).status_code == 200
        yield n


async def test_x03_a_name_with_a_line_break_is_not_sent_with_its_reason_never_retried(smtp_notify, smtp_server):
    """X-03 case 4: « EVIL\\r\\nBcc: x@y » (from before the import refused it) gives *non envoyé* with the
    reason, at the first attempt, and nothing reaches the server; others' messages still go."""
    n = smtp_notify
    await person(n, "b-evil", "EVIL\r\nBcc: x@y", email_address="evil@example.org")
    await person(n, "b-lea", "DUPONT")
    await n.send(paris(2025, 3, 20, 19, 0))
    evil = [m for m in await n.outbox(beneficiary_id="b-evil") if m["status"] != "scheduled"]  # not due yet
    assert sorted(m["template"] for m in evil) == ["ACR-PRESENTATION", "SYS-MBV-ACCES"], evil
    assert {m["status"] for m in evil} == {"not_sent"}
    assert {m["reason"] for m in evil} == {
        "Message impossible à construire : caractère de contrôle (retour à la ligne...) dans le nom ou l'adresse "
        "du destinataire ; corrigez la fiche."}
    assert all("evil@example.org" not in r.rcpt_tos and "x@y" not in r.rcpt_tos for r in smtp_server.received)
    assert {m["status"] for m in await n.outbox(beneficiary_id="b-lea")} == {"sent", "scheduled"}
    assert (await n.send(paris(2025, 3, 21, 19, 0))) == {"sent": 0, "not_sent": 0, "cancelled": 0, "retry": 0}
    reasons = [i["reason"] for i in await n.emitted_items("MessageNotSent")]
    assert reasons and set(reasons) == {"unbuildable"}


async def test_x03_a_message_the_mail_library_refuses_is_not_sent_never_retried(
        sqlite_settings, smtp_server, smtp_settings, notify_alone):
    """X-03 case 4: whatever the e-mail package refuses to write (here a Reply-To with a line break) is
    *non envoyé* with the reason at the first attempt (it was an internal ValueError retried as temporary)."""
    settings = smtp_settings(sqlite_settings, smtp_server, mail_reply_to="a@b.fr\r\nBcc: x@y")
    async with notify_alone(settings, FixedClock(paris(2025, 3, 20, 9, 0))) as n:
        assert (await n.call("PUT", "/setup", json={"templates": TEMPLATES, "rules": RULES})).status_code == 200
        await person(n, "b-1", "DUPONT")
        counts = await n.send(paris(2025, 3, 20, 19, 0))
        assert counts["not_sent"] == 2 and counts["retry"] == 0 and counts["sent"] == 0
        done = [m for m in await n.outbox(beneficiary_id="b-1") if m["status"] != "scheduled"]
        assert {m["reason"] for m in done} == {
            "Message impossible à construire : en-tête impossible à écrire (ValueError)."}
        assert not smtp_server.received
        assert (await n.send(paris(2025, 3, 21, 19, 0)))["retry"] == 0


async def test_x03_a_name_with_template_syntax_is_sent_as_written(smtp_notify, smtp_server):
    """X-03 case 5: « {{ » and « {% » in a name are the person's data, not template text: sent as written."""
    n = smtp_notify
    await person(n, "b-1", "{{ 7*7 }} {% if x %}DUPONT", first="Léa")
    await n.send(paris(2025, 3, 20, 19, 0))
    assert {m["status"] for m in await n.outbox(beneficiary_id="b-1")} == {"sent", "scheduled"}  # J-7 still due
    subjects = [r.message["Subject"] for r in smtp_server.received]
    assert "Votre rendez-vous du 01/04/2025, Léa {{ 7*7 }} {% if x %}DUPONT" in subjects


async def test_x03_template_syntax_left_by_the_template_itself_is_still_refused(smtp_notify):
    n = smtp_notify
    raw = {"channel": "email", "subject": "Bonjour {% raw %}{{ beneficiary.nom }}{% endraw %}"}
    assert (await n.call("PUT", "/templates/ACR-PRESENTATION", json=raw)).status_code == 200
    await person(n, "b-1", "DUPONT")
    await n.send(paris(2025, 3, 20, 19, 0))
    presentation = [m for m in await n.outbox(beneficiary_id="b-1") if m["template"] == "ACR-PRESENTATION"]
    assert [m["reason"] for m in presentation] == ["Modèle « ACR-PRESENTATION » : champ non remplacé dans le texte."]


def decoded(folder) -> str:
    """Every file of the folder as a reader sees it: e-mails' headers and parts decoded, SMS as text."""
    texts = []
    for path in sorted(folder.iterdir()):
        if path.name.endswith(".eml"):
            mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            texts += [f"{k}: {v}" for k, v in mail.items()]
            texts += [part.get_content() for part in mail.walk() if part.get_content_maintype() == "text"]
        else:
            texts.append(path.read_text(encoding="utf-8"))
    return "\n".join(texts)


async def test_x04_the_purge_deletes_the_sent_copies_written_as_files(folder_notify, sqlite_settings):
    """X-04 case 6: on the embedded default, sent e-mails and SMS are files under <home>/notify-outbox; the
    purge of a person deletes theirs (searched decoded), and only theirs."""
    n = folder_notify
    await person(n, "b-etienne", "ÉTIENNE", first="François", email_address="francois.etienne@example.org",
                 phone="+33698765432")
    await person(n, "b-lea", "DUPONT")
    await n.send(paris(2025, 3, 20, 19, 0))
    folder = n.settings.outbox_folder
    before = decoded(folder)
    assert "ÉTIENNE" in before and "francois.etienne@example.org" in before and "+33698765432" in before
    n.importer.purge("b-etienne")
    await n.feed(one(BeneficiaryPurged, beneficiary_id="b-etienne"))
    after = decoded(folder)
    for value in ("ÉTIENNE", "François", "francois.etienne@example.org", "+33698765432", "698765432"):
        assert value not in after
    assert "DUPONT" in after and "lea.dupont@example.org" in after  # the others' copies stay
    database = (sqlite_settings.home / "notify.db")
    raw = b"".join(p.read_bytes() for p in database.parent.glob("notify.db*"))
    for value in ("ÉTIENNE", "francois.etienne@example.org"):
        assert value.encode() not in raw, f"{value} still in notify's SQLite files"
