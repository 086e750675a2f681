from servicekit.settings import ServiceSettings


class BillingSettings(ServiceSettings):
    pass
