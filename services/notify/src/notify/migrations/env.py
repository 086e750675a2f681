from servicekit import migrations

from notify.adapters.orm import metadata

migrations.run(metadata, "notify")
