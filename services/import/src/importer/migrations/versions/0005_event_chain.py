"""event_chain

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 04:20:00.000000

"""
from typing import Sequence, Union

from alembic import op

from servicekit.tables import create_kit_tables, drop_kit_tables


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """The head of the service's hash chain of events (OPS-04; servicekit's kit table)."""
    create_kit_tables(op, ("event_chain",))


def downgrade() -> None:
    drop_kit_tables(op, ("event_chain",))
