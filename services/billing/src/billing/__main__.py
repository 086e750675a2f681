"""``python -m billing``: the billing service alone (one Kubernetes deployment)."""

from servicekit.standalone import main

from billing.bootstrap import bootstrap
from billing.config import BillingSettings


def run() -> None:
    main(bootstrap, BillingSettings())


if __name__ == "__main__":
    run()
