from pydantic import Field, SecretStr

from servicekit.settings import ServiceSettings


class ImporterSettings(ServiceSettings):
    # BEN-02: the personal link of the GDPR mail that records the *accord numérique*.
    gdpr_link_secret: SecretStr | None = Field(
        default=None, description="Secret that signs the GDPR agreement links (HMAC), shared by importer's "
        "replicas; unset: one generated and kept in <home>/importer-gdpr-link.secret (embedded default).")
    gdpr_link_days: int = Field(default=30, ge=1, le=365, description="Days a GDPR agreement link stays valid.")
    public_url: str = Field(default="http://127.0.0.1:8000", description="Address the public reaches "
                            "Prestaflow at: the GDPR agreement links start with it.",
                            examples=["https://prestaflow.bge-exemple.fr"])
