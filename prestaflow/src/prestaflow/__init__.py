"""The prestaflow command line and the embedded runner. Depends on every service; nothing depends on it."""
