from servicekit.settings import ServiceSettings


class AffectationSettings(ServiceSettings):
    pass
