from servicekit import migrations

from affectation.adapters.orm import metadata

migrations.run(metadata, "affectation")
