"""E-mail channel (NOT-06): MIME messages sent over SMTP (aiosmtplib), or written as .eml files.

Each message carries a Message-ID made from notify's message id: a message retried after a crash
keeps the same id, so a receiving server or client can recognise it.
"""

import asyncio
import email.errors
import os
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from pathlib import Path

import aiosmtplib

from notify.domain.messages import DeliveryResult, Outgoing

MESSAGE_ID_DOMAIN = "notify.prestaflow"


def build_mime(outgoing: Outgoing, sender: str, reply_to: str | None = None) -> EmailMessage:
    """A multipart/alternative message (text, then HTML), headers encoded for any character."""
    msg = EmailMessage(policy=SMTP)
    name, address = parseaddr(sender)
    msg["From"] = Address(name, addr_spec=address) if name else address
    msg["To"] = Address(outgoing.display_name, addr_spec=outgoing.to) if outgoing.display_name else outgoing.to
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = outgoing.subject or ""
    msg["Date"] = format_datetime(outgoing.date)
    msg["Message-ID"] = f"<{outgoing.message_id}@{MESSAGE_ID_DOMAIN}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["Content-Language"] = "fr"
    msg["X-Prestaflow-Template"] = outgoing.template
    # Quoted-printable keeps the message 7-bit: any SMTP server relays it, with or without 8BITMIME.
    msg.set_content(outgoing.text, charset="utf-8", cte="quoted-printable")
    if outgoing.html:
        msg.add_alternative(outgoing.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg


def checked_mime(outgoing: Outgoing, sender: str, reply_to: str | None = None) -> EmailMessage | DeliveryResult:
    """The MIME message, or ``invalid`` when it cannot be made (a header the email package refuses):
    the message is then not sent, with the reason, and never tried again."""
    try:
        message = build_mime(outgoing, sender, reply_to)
        message.as_bytes()  # headers are checked when written
    except (ValueError, TypeError, email.errors.MessageError) as exc:
        return DeliveryResult("invalid", f"en-tête impossible à écrire ({type(exc).__name__})")
    return message


class SmtpEmail:
    """Sends through an SMTP server; 4xx answers and connection failures are temporary, 5xx permanent."""

    def __init__(self, host: str, port: int, tls: str = "starttls", username: str | None = None,
                 password: str | None = None, sender: str = "", reply_to: str | None = None, timeout: float = 30):
        self.host, self.port, self.tls = host, port, tls
        self.username, self.password = username, password
        self.sender, self.reply_to, self.timeout = sender, reply_to, timeout

    async def send(self, outgoing: Outgoing) -> DeliveryResult:
        message = checked_mime(outgoing, self.sender, self.reply_to)
        if isinstance(message, DeliveryResult):
            return message
        try:
            _refused, answer = await aiosmtplib.send(
                message, hostname=self.host, port=self.port, username=self.username, password=self.password,
                use_tls=self.tls == "tls", start_tls=True if self.tls == "starttls" else False,
                timeout=self.timeout)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [e.code for e in exc.recipients]
            permanent = all(500 <= c < 600 for c in codes)
            answer = "; ".join(f"{e.code} {e.message}" for e in exc.recipients)
            return DeliveryResult("permanent" if permanent else "temporary", answer)
        except aiosmtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.code < 600
            return DeliveryResult("permanent" if permanent else "temporary", f"{exc.code} {exc.message}")
        except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
            return DeliveryResult("temporary", f"{type(exc).__name__}: {exc}")
        return DeliveryResult("sent", f"250 {answer}".strip())


class FolderEmail:
    """The embedded default: each message written as ``<message id>.eml`` (nothing leaves the machine)."""

    def __init__(self, folder: Path, sender: str, reply_to: str | None = None):
        self.folder, self.sender, self.reply_to = folder, sender, reply_to

    async def send(self, outgoing: Outgoing) -> DeliveryResult:
        message = checked_mime(outgoing, self.sender, self.reply_to)
        if isinstance(message, DeliveryResult):
            return message
        data = message.as_bytes()
        try:
            await asyncio.to_thread(_write_atomically, self.folder / f"{outgoing.message_id}.eml", data)
        except OSError as exc:
            return DeliveryResult("temporary", f"écriture impossible : {exc.strerror}")
        return DeliveryResult("sent", f"écrit dans {outgoing.message_id}.eml")


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(data)
    os.replace(partial, path)
