"""Channel adapters (NOT-06): the MIME message, the .eml folder, SMS providers' answers."""

import email
import email.policy
import json
from datetime import UTC, datetime

import httpx
import pytest

from notify.adapters.email import FolderEmail, build_mime
from notify.adapters.sms import FolderSms, HttpSms
from notify.domain.messages import Outgoing

MAIL = Outgoing("0b1e6c1e-0000-4000-8000-000000000001", "email", "lea.dupont@example.org", "Léa DUPONT",
                "Votre rendez-vous Activ'Créa du 14/01/2025", "Bonjour Madame DUPONT,\n\nÀ bientôt.\n",
                "<p>Bonjour Madame DUPONT,</p>", "ACR-PRESENTATION", datetime(2025, 1, 4, 18, 0, tzinfo=UTC))
SMS = Outgoing("0b1e6c1e-0000-4000-8000-000000000002", "sms", "+33612345678", "Léa DUPONT", None,
               "BGE : RDV le 14/01/2025 à 9h00.", None, "SMS-RDV", datetime(2025, 1, 4, 18, 0, tzinfo=UTC))


def test_not06_mime_message_text_then_html_headers_encoded_stable_message_id():
    raw = build_mime(MAIL, "BGE Hauts-de-France <ne-pas-repondre@bge.example>", "contact@bge.example").as_bytes()
    assert all(b < 128 for b in raw)  # 7-bit on the wire: accents are encoded
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == "Votre rendez-vous Activ'Créa du 14/01/2025"
    assert parsed["To"] == "Léa DUPONT <lea.dupont@example.org>"
    assert parsed["Reply-To"] == "contact@bge.example"
    assert parsed["Message-ID"] == "<0b1e6c1e-0000-4000-8000-000000000001@notify.prestaflow>"
    assert parsed["Date"] == "Sat, 04 Jan 2025 18:00:00 +0000"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == "Bonjour Madame DUPONT,\n\nÀ bientôt.\n"


async def test_embedded_default_writes_eml_and_sms_files(tmp_path):
    result = await FolderEmail(tmp_path, "BGE <n@bge.example>").send(MAIL)
    assert result.outcome == "sent" and result.answer == f"écrit dans {MAIL.message_id}.eml"
    parsed = email.message_from_bytes((tmp_path / f"{MAIL.message_id}.eml").read_bytes(), policy=email.policy.default)
    assert parsed["To"] == "Léa DUPONT <lea.dupont@example.org>"
    assert (await FolderSms(tmp_path).send(SMS)).outcome == "sent"
    assert json.loads((tmp_path / f"{SMS.message_id}.sms.json").read_text())["text"] == SMS.text
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{MAIL.message_id}.eml", f"{SMS.message_id}.sms.json"]


@pytest.mark.parametrize("status, outcome", [(200, "sent"), (201, "sent"), (400, "permanent"), (401, "permanent"),
                                             (429, "temporary"), (500, "temporary"), (503, "temporary")])
async def test_not06_sms_provider_answers_are_classified(status, outcome):
    seen = []

    def provider(request: httpx.Request) -> httpx.Response:
        seen.append((request.url, request.headers.get("authorization"), json.loads(request.content)))
        return httpx.Response(status, text="réponse du fournisseur")

    sms = HttpSms("http", "https://sms.example/send", "secret", "BGE Hauts-de-France",
                  transport=httpx.MockTransport(provider))
    result = await sms.send(SMS)
    assert (result.outcome, result.answer) == (outcome, f"{status} réponse du fournisseur")
    assert seen == [(httpx.URL("https://sms.example/send"), "Bearer secret", {
        "to": "+33612345678", "text": "BGE : RDV le 14/01/2025 à 9h00.", "sender": "BGE Hauts-d",
        "reference": SMS.message_id})]


async def test_not06_sms_network_failure_is_temporary():
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connexion refusée")

    result = await HttpSms("brevo", None, "k", "BGE", transport=httpx.MockTransport(down)).send(SMS)
    assert result.outcome == "temporary" and "ConnectError" in result.answer
