"""Shared mechanisms of every Prestaflow service. Nothing domain-specific lives here."""
