"""``python -m importer``: the importer service alone (one Kubernetes deployment)."""

from servicekit.standalone import main

from importer.bootstrap import bootstrap
from importer.config import ImporterSettings


def run() -> None:
    main(bootstrap, ImporterSettings())


if __name__ == "__main__":
    run()
