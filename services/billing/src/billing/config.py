"""Billing's settings (``PRESTAFLOW_*`` environment variables), on top of every service's own."""

from pathlib import Path

from pydantic import Field, SecretStr

from servicekit.settings import ServiceSettings


class BillingSettings(ServiceSettings):
    pdf_workers: int | None = Field(default=None, description="Processes rendering invoices (default: one per core; "
                                                              "0 renders in the service's own process).")
    # Chorus Pro (BIL-07, BIL-12): PISTE's OAuth2 application and the Chorus Pro technical account.
    chorus_client_id: str | None = Field(default=None, description="PISTE application's client id.")
    chorus_client_secret: SecretStr | None = Field(default=None, description="PISTE application's secret.")
    chorus_login: str | None = Field(default=None, description="Chorus Pro technical account (cpro-account).")
    chorus_password: SecretStr | None = Field(default=None, description="Its password.")
    chorus_oauth_url: str = Field(default="https://oauth.piste.gouv.fr/api/oauth/token",
                                  description="Token endpoint (sandbox: https://sandbox-oauth.piste.gouv.fr/...).")
    chorus_api_url: str = Field(default="https://api.piste.gouv.fr/cpro",
                                description="API base (sandbox: https://sandbox-api.piste.gouv.fr/cpro).")
    chorus_folder: Path | None = Field(default=None, description="Without credentials, the night's flows are "
                                                                 "written here for a manual upload (default: "
                                                                 "<home>/chorus-outbox).")
    chorus_attempts: int = Field(default=4, description="Tries of one call before a transient failure is kept.")
    chorus_backoff_seconds: float = Field(default=1.0, description="First wait between tries (doubled each time).")
    chorus_polls: int = Field(default=3, description="Rounds of report reading per run (the next run reads again).")
    chorus_poll_seconds: float = Field(default=5.0, description="Wait between two rounds of report reading.")
    chorus_nightly_hour: int | None = Field(default=22, description="Hour (Paris) of the nightly deposit; "
                                                                   "none: only on command.")

    @property
    def chorus_configured(self) -> bool:
        return bool(self.chorus_client_id and self.chorus_client_secret and self.chorus_login and self.chorus_password)

    @property
    def chorus_outbox(self) -> Path:
        return self.chorus_folder or self.home / "chorus-outbox"
