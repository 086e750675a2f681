from pydantic import Field

from servicekit.settings import ServiceSettings


class PlanningSettings(ServiceSettings):
    invoice_alert_days: int = Field(default=15, ge=0, description=(
        "PRC-05 (c): days after its closing before a journey with no invoice issued is an alert."))


def planning_settings(settings: ServiceSettings | None) -> PlanningSettings:
    """The embedded runner hands every service the same base settings; planning's own come from the
    environment (PRESTAFLOW_INVOICE_ALERT_DAYS)."""
    if isinstance(settings, PlanningSettings):
        return settings
    return PlanningSettings(**(settings.model_dump() if settings is not None else {}))
