from servicekit import migrations

from billing.adapters.orm import metadata

migrations.run(metadata, "billing")
