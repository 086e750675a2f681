"""``python -m affectation``: the affectation service alone (one Kubernetes deployment)."""

from servicekit.standalone import main

from affectation.bootstrap import bootstrap
from affectation.config import AffectationSettings


def run() -> None:
    main(bootstrap, AffectationSettings())


if __name__ == "__main__":
    run()
