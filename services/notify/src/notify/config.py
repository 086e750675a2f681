from servicekit.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    pass
