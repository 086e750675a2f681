"""event_chain

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 04:20:00.000000

"""
from typing import Sequence, Union

from alembic import op

from servicekit.tables import create_kit_tables, drop_kit_tables


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """The head of the service's hash chain of events (OPS-04; servicekit's kit table)."""
    create_kit_tables(op, ("event_chain",))


def downgrade() -> None:
    drop_kit_tables(op, ("event_chain",))
