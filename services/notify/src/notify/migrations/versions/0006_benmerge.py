"""beneficiary merges followed (BEN-03)

Revision ID: 0006_benmerge
Revises: 0005

"""
from typing import Sequence, Union

from alembic import op

from servicekit.merges import create_merges_table


# revision identifiers, used by Alembic.
revision: str = '0006_benmerge'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """BEN-03: the beneficiary merges this service followed (servicekit's table)."""
    create_merges_table(op)


def downgrade() -> None:
    op.drop_table("beneficiary_merges")
