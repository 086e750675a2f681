from servicekit import migrations

from planning.adapters.orm import metadata

migrations.run(metadata, "planning")
