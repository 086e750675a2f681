"""doublons and merges (BEN-03): blind indexes, merged records, merges, the index secret

Revision ID: 0008_benmerge
Revises: 0007_gdpr_agreement

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from servicekit.sql import UtcDateTime
from servicekit.merges import create_merges_table


# revision identifiers, used by Alembic.
revision: str = '0008_benmerge'
down_revision: Union[str, Sequence[str], None] = '0007_gdpr_agreement'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """BEN-03: blind indexes of the records, where a merged record went, the merges, the indexes' secret."""
    with op.batch_alter_table("beneficiaries") as batch:
        batch.add_column(sa.Column("merged_into", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("merged_at", UtcDateTime(), nullable=True))
    op.create_table("beneficiary_indexes",
                    sa.Column("beneficiary_id", sa.String(length=36), nullable=False),
                    sa.Column("ft_id_hash", sa.String(length=64), nullable=True),
                    sa.Column("identity_hash", sa.String(length=64), nullable=True),
                    sa.PrimaryKeyConstraint("beneficiary_id"))
    op.create_index("ix_beneficiary_indexes_ft_id_hash", "beneficiary_indexes", ["ft_id_hash"])
    op.create_index("ix_beneficiary_indexes_identity_hash", "beneficiary_indexes", ["identity_hash"])
    op.create_table("identity_secret",
                    sa.Column("id", sa.Integer(), nullable=False),
                    sa.Column("secret", sa.String(length=100), nullable=False),
                    sa.PrimaryKeyConstraint("id"))
    create_merges_table(op)


def downgrade() -> None:
    op.drop_table("beneficiary_merges")
    op.drop_table("identity_secret")
    op.drop_table("beneficiary_indexes")
    with op.batch_alter_table("beneficiaries") as batch:
        for column in ("merged_at", "merged_into"):
            batch.drop_column(column)
