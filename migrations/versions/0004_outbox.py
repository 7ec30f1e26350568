"""The outbox of domain events: one row per (event, reaction) still to deliver, written in the same
transaction as the change that recorded the event, claimed by workers with a lease.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

Timestamp = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("event", sa.String(128), nullable=False),
        sa.Column("reaction", sa.String(128), nullable=False),
        sa.Column("payload", Json, nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("due_at", Timestamp, nullable=False),
        sa.Column("leased_until", Timestamp),
        sa.Column("last_error", sa.Text()),
        sa.Column("failed_at", Timestamp),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    unfailed = sa.text("failed_at IS NULL")
    op.create_index("ix_outbox_due_at", "outbox", ["due_at"], postgresql_where=unfailed, sqlite_where=unfailed)


def downgrade() -> None:
    op.drop_index("ix_outbox_due_at", table_name="outbox")
    op.drop_table("outbox")
