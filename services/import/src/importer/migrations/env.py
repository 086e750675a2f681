from servicekit import migrations

from importer.adapters.orm import metadata

migrations.run(metadata, "importer")
