"""``python -m notify``: the notify service alone (one Kubernetes deployment)."""

from servicekit.standalone import main

from notify.bootstrap import bootstrap
from notify.config import NotifySettings


def run() -> None:
    main(bootstrap, NotifySettings())


if __name__ == "__main__":
    run()
