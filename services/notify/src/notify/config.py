"""Notify's settings (``PRESTAFLOW_*`` environment variables), on top of every service's own."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from servicekit.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    # E-mail (NOT-06): an SMTP server, or a folder of .eml files (the embedded default).
    notify_email: Literal["smtp", "folder"] | None = Field(
        default=None, description="How e-mails leave: smtp, or folder (.eml files). Default: smtp when "
                                  "PRESTAFLOW_SMTP_HOST is set, else folder.")
    notify_folder: Path | None = Field(default=None, description="Folder of written messages "
                                                                 "(default: <home>/notify-outbox).")
    smtp_host: str | None = Field(default=None, description="SMTP server.")
    smtp_port: int = Field(default=587, description="SMTP port (587 STARTTLS, 465 TLS, 25 plain).")
    smtp_tls: Literal["starttls", "tls", "none"] = Field(default="starttls", description="Transport security.")
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = 30
    mail_from: str = Field(default="BGE <ne-pas-repondre@prestaflow.invalid>",
                           description="Sender of every e-mail (From).")
    mail_reply_to: str | None = Field(default=None, description="Reply-To of every e-mail.")
    # SMS (NOT-06): a provider's HTTP API, or a folder of .txt files.
    sms_provider: Literal["folder", "http", "brevo"] = Field(
        default="folder", description="folder (files), http (generic JSON webhook) or brevo (Brevo's API).")
    sms_url: str | None = Field(default=None, description="Provider URL (http; optional for brevo).")
    sms_api_key: SecretStr | None = None
    sms_sender: str = Field(default="BGE", description="SMS sender name (11 characters at most).")
    # Sending.
    notify_poll_seconds: float = Field(default=5, description="How often due messages are looked for "
                                                              "(system messages are also sent on commit).")
    notify_batch_size: int = 200
    notify_retry_base_seconds: float = Field(default=60, description="First back-off after a temporary failure.")
    notify_retry_max_seconds: float = Field(default=3600, description="Longest back-off.")
    notify_max_attempts: int = Field(default=24, description="Temporary failures before giving up.")
    notify_lease_seconds: float = Field(default=600, description="A message claimed this long ago by a sender "
                                                                 "that died is tried again.")
    # Links the messages give.
    virtual_office_url: str = Field(default="https://monbureauvirtuel.prestaflow.invalid/",
                                    description="Mon Bureau Virtuel (MBV) login page.")
    presentation_url: str = Field(default="https://www.bge.asso.fr/activ-crea",
                                  description="Page presenting the Activ'Créa prestation.")

    @property
    def outbox_folder(self) -> Path:
        return self.notify_folder or self.home / "notify-outbox"

    @property
    def email_transport(self) -> str:
        return self.notify_email or ("smtp" if self.smtp_host else "folder")


def notify_settings(settings: ServiceSettings | None) -> NotifySettings:
    """The embedded runner hands every service the same base settings; notify's own come from the
    environment."""
    if isinstance(settings, NotifySettings):
        return settings
    if settings is None:
        return NotifySettings()
    return NotifySettings(**settings.model_dump(exclude_unset=False))
