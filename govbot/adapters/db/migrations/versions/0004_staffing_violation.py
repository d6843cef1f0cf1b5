"""staffing violations

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 16:30:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import govbot.adapters.db.types


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staffing_violation',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('opened_at', govbot.adapters.db.types.UTCDateTime(), nullable=False),
    sa.Column('changed_at', govbot.adapters.db.types.UTCDateTime(), nullable=False),
    sa.Column('resolved_at', govbot.adapters.db.types.UTCDateTime(), nullable=True),
    sa.Column('acknowledged_at', govbot.adapters.db.types.UTCDateTime(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('severity', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('sprint_id', sa.Integer(), nullable=False),
    sa.Column('issue', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('person', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('magnitude', sa.Integer(), nullable=False),
    sa.Column('notified_state', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('notified_magnitude', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('acknowledged_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', name='uq_violation_key')
    )


def downgrade() -> None:
    op.drop_table('staffing_violation')
