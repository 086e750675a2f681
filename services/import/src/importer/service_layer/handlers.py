"""Importer's reactions to events."""

from contracts.planning import ReferentialChanged
from servicekit.versioned import snapshot_projection

# Importer's copy of ressources, ODS and France Travail addresses: what an import checks rows against.
record_referential = snapshot_projection("referential")

EVENT_HANDLERS = {ReferentialChanged: record_referential}
