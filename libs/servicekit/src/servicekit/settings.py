from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Settings every service reads from ``PRESTAFLOW_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="PRESTAFLOW_", extra="ignore")

    structure: str = Field(default="bge", description="Id of the BGE structure this deployment serves: the "
                           "partition key of every event.")
    bus: str = Field(default="memory://", description="memory:// or kafka://host:9092,host2:9092")
    home: Path = Field(default=Path(".prestaflow"), description="Embedded default's data folder.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL; PostgreSQL uses one schema per service. "
        "Default: one SQLite file per service under home.",
    )
    db_schema_prefix: str = Field(default="", description="Prefix of each service's PostgreSQL schema.")
    topic_namespace: str = Field(default="", description="Prefix of every topic name (shared clusters, tests).")
    kafka_partitions: int = Field(default=3, description="Partitions of the topics a service creates.")
    kafka_replication: int = Field(default=1, description="Replication factor of the topics a service creates.")
    kafka_idempotence: bool = Field(default=True, description="Idempotent producer (off for brokers without it).")
    kafka_username: str | None = Field(default=None, description="SCRAM-SHA-512 user (a Strimzi KafkaUser); "
                                       "unset: no authentication.")
    kafka_password: str | None = Field(default=None, description="That user's password (its KafkaUser Secret).")
    kafka_ca_file: Path | None = Field(default=None, description="CA certificate of the brokers' TLS listener; "
                                       "unset: plaintext.")
    kafka_create_topics: bool = Field(default=True, description="Create missing topics at start; false where "
                                      "topics are declared (Strimzi KafkaTopic) and users may not create them.")
    importer_url: str | None = Field(default=None, description="Where importer's API is (beneficiaries' keys).")
    planning_url: str | None = Field(default=None, description="Where planning's API is (people's rights, SEC-02); "
                                     "default http://planning.")
    auth: Literal["on", "off"] = Field(
        default="on", description="SEC-01: 'off' only for a trial: no authentication, loopback only.")
    oidc_issuer: str | None = Field(default=None, description="OpenID provider's issuer (the tokens' iss).",
                                    examples=["https://sso.example.org/realms/bge"])
    oidc_audience: str | None = Field(default=None, description="The tokens' aud this deployment accepts.",
                                      examples=["prestaflow"])
    oidc_jwks_url: str | None = Field(default=None, description="The provider's JWKS (signing keys).",
                                      examples=["https://sso.example.org/realms/bge/protocol/openid-connect/certs"])
    oidc_algorithms: list[str] = Field(default=["RS256", "ES256"], description="Signature algorithms accepted "
                                       "(asymmetric only; none and HS* are always refused).")
    oidc_jwks_cooldown_seconds: float = Field(default=30, description="Least time between two JWKS fetches "
                                              "caused by an unknown key id (rotation).")
    service_clients: dict[str, str] = Field(
        default={}, description="SEC-03: OAuth2 client id → service name, the clients whose tokens are services'.",
        examples=[{"prestaflow-notify": "notify"}])
    oidc_token_url: str | None = Field(default=None, description="The provider's token endpoint (client "
                                       "credentials); default: from the issuer's discovery document.")
    client_id: str | None = Field(default=None, description="SEC-03: this service's (or the CLI's) OAuth2 client.",
                                  examples=["prestaflow-notify"])
    client_secret: SecretStr | None = Field(default=None, description="The client's secret (never logged).")
    administrators: list[str] = Field(
        default=[], description="SEC-02: token subjects that are administrators whatever the referential says "
        "(who loads the first referential).", examples=[["f3b1c2d4-admin"]])
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    relay_batch_size: int = Field(default=1000, description="Outbox rows published per batch.")
    consumer_batch_size: int = Field(default=1000, description="Most messages a consumer takes per poll; each event "
                                     "is still handled in its own transaction.")
    relay_poll_seconds: float = 0.5
    retry_attempts: int = 3
    retry_backoff_seconds: float = 0.2
    faults_file: Path | None = Field(default=None, description="Test-only fault injection file (JSON).")
    clock_file: Path | None = Field(default=None, description="Test-only: the services' time, read from this file.")

    @classmethod
    def of(cls, settings: "ServiceSettings | None") -> Self:
        """``settings`` as this service's own settings class: the embedded runner hands every service the
        same base settings, and a service's own fields then come from the environment."""
        if isinstance(settings, cls):
            return settings
        if settings is None:
            return cls()
        return cls(**settings.model_dump(exclude_unset=False))
