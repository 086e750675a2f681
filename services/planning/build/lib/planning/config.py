from servicekit.settings import ServiceSettings


class PlanningSettings(ServiceSettings):
    pass
