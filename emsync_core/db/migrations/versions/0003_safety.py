"""safety: run leases, archive API keys, server error records; videos.damage

Revision ID: 0003_safety
Revises: 0002_study
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from emsync_core.db.analyst_views import drop_views, install_views

revision = '0003_safety'
down_revision = '0002_study'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('run_leases',
    sa.Column('run_key', sa.String(length=64), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.Column('out_uri', sa.String(length=2048), nullable=False),
    sa.Column('holder', sa.String(length=256), nullable=False),
    sa.Column('acquired_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('run_key', name=op.f('pk_run_leases'))
    )
    op.create_index(op.f('ix_run_leases_out_uri'), 'run_leases', ['out_uri'], unique=False)
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash'))
    )
    op.create_table('server_errors',
    sa.Column('error_id', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('route', sa.String(length=512), nullable=False),
    sa.Column('error_class', sa.String(length=256), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('error_id', name=op.f('pk_server_errors'))
    )
    op.add_column('videos', sa.Column('damage', sa.Text(), nullable=True))


def downgrade() -> None:
    drop_views(op.get_bind())  # SQLite rebuilds the table to drop a column: views over it must go first
    with op.batch_alter_table('videos') as batch:
        batch.drop_column('damage')
    install_views(op.get_bind())
    op.drop_table('server_errors')
    op.drop_table('api_keys')
    op.drop_index(op.f('ix_run_leases_out_uri'), table_name='run_leases')
    op.drop_table('run_leases')
