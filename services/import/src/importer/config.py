from pydantic import Field, SecretStr

from servicekit.settings import ServiceSettings

# SEC-03: the services that read the personal data importer seals in its events. Each consumes
# BeneficiaryRegistered and BeneficiaryCorrected (every record goes to each of them) and unseals
# names or contacts: planning (journeys, their PDFs and workbook), affectation (the worklist's
# names), billing (the invoices' beneficiary), notify (the messages' addressee); "replay" is the
# client of the auditor's `prestaflow audit replay`, which rebuilds those four. Importer reads its
# own database and needs no key from its API.
KEY_READERS = ["affectation", "billing", "notify", "planning", "replay"]


class ImporterSettings(ServiceSettings):
    # BEN-02: the personal link of the GDPR mail that records the *accord numérique*.
    gdpr_link_secret: SecretStr | None = Field(
        default=None, description="Secret that signs the GDPR agreement links (HMAC), shared by importer's "
        "replicas; unset: one generated and kept in <home>/importer-gdpr-link.secret (embedded default).")
    gdpr_link_days: int = Field(default=30, ge=1, le=365, description="Days a GDPR agreement link stays valid.")
    public_url: str = Field(default="http://127.0.0.1:8000", description="Address the public reaches "
                            "Prestaflow at: the GDPR agreement links start with it.",
                            examples=["https://prestaflow.bge-exemple.fr"])
    key_readers: list[str] = Field(
        default=KEY_READERS, description="SEC-03: the services (names given by PRESTAFLOW_SERVICE_CLIENTS) "
        "whose tokens open the beneficiaries' keys; any other service's token gets 403.",
        examples=[["affectation", "billing", "notify", "planning"]])
    identity_secret: SecretStr | None = Field(
        default=None, description="BEN-03: secret of the blind indexes that find doublons (a keyed hash of the "
        "identifiant France Travail and of name, first name and birth date). Unset: one is made and kept in "
        "importer's database. Changing it needs the indexes made again (they are rebuilt when empty).")
