"""aggregate versions

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 19:00:00.000000

servicekit's table of each aggregate's version, stamped on the items of list events.
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
    create_kit_tables(op, ("aggregate_versions",))


def downgrade() -> None:
    drop_kit_tables(op, ("aggregate_versions",))
