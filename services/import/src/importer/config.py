from servicekit.settings import ServiceSettings


class ImporterSettings(ServiceSettings):
    pass
