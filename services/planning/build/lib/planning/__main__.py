"""``python -m planning``: the planning service alone (one Kubernetes deployment)."""

from servicekit.standalone import main

from planning.bootstrap import bootstrap
from planning.config import PlanningSettings


def run() -> None:
    main(bootstrap, PlanningSettings())


if __name__ == "__main__":
    run()
