"""Corrections that are never silent: assessments get a version (a stale form is
refused), assessments and measures can be withdrawn with a reason (a measure's status
'withdrawn' leaves a partner's current list); officers' internal notes; an officer's
own dossiers by index; documents attached to a dossier, their downloads and printed
dossiers read, not written; a person's date of birth and relation to the dossier's main
person; names found without their accents ("chloe" finds "Chloé")

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 04:10:00

"""
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

# As dossiers.models.WRITES_SQL before and after this revision: a document's download
# and a printed dossier are reads of it, not changes.
WRITES_BEFORE = (
    "outcome = 'ok' AND action NOT IN ('audit.export', 'dossier.view', 'event.view', "
    "'measure.view', 'person.search', 'statistics.drill', 'statistics.export')"
)
WRITES_AFTER = (
    "outcome = 'ok' AND action NOT IN ('audit.export', 'document.download', 'dossier.print', "
    "'dossier.view', 'event.view', 'measure.view', 'person.search', 'statistics.drill', "
    "'statistics.export')"
)


def _writes_index(predicate):
    op.drop_index("ix_audit_event_dossier_writes", table_name="audit_event")
    op.create_index(
        "ix_audit_event_dossier_writes",
        "audit_event",
        ["dossier_id", "at", "sequence"],
        sqlite_where=sa.text(predicate),
        postgresql_where=sa.text(predicate),
    )


# As dossiers.models.CURRENT_MEASURE_SQL at this revision, and before it.
CURRENT = "status NOT IN ('lifted', 'withdrawn') AND decided_at IS NOT NULL"
BEFORE = "status <> 'lifted' AND decided_at IS NOT NULL"


def _recreate(where: str) -> None:
    op.drop_index("ix_measure_partner_current", table_name="measure")
    op.create_index(
        "ix_measure_partner_current",
        "measure",
        ["organisation_id", "start_date", "id"],
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )


def _fold_without_accents(text: str) -> str:  # dossiers.names.fold at this revision
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _fold_before(text: str) -> str:  # and before it
    return unicodedata.normalize("NFKC", text).casefold()


def _rewrite_name_suffixes(fold) -> None:
    """Every ending of every name, folded anew, from three characters on."""
    connection = op.get_bind()
    suffixes = sa.table(
        "person_name_suffix", sa.column("suffix", sa.Text), sa.column("person_id", sa.Integer)
    )
    connection.execute(sa.delete(suffixes))
    persons = connection.execute(sa.text("SELECT id, name FROM person")).fetchall()
    rows = []
    for person_id, name in persons:
        folded = fold(name)
        endings = {
            folded[start:]
            for start in range(len(folded) - 2)
            if not folded[start].isspace()
        }
        rows.extend({"suffix": ending, "person_id": person_id} for ending in sorted(endings))
        if len(rows) >= 10000:
            connection.execute(sa.insert(suffixes), rows)
            rows = []
    if rows:
        connection.execute(sa.insert(suffixes), rows)


def upgrade():
    with op.batch_alter_table('threat_assessment') as batch:
        batch.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch.add_column(sa.Column('withdrawn_at', sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column('withdrawal_reason', sa.Text(), nullable=False, server_default='')
        )
    with op.batch_alter_table('measure') as batch:
        batch.add_column(sa.Column('withdrawn_at', sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column('withdrawal_reason', sa.Text(), nullable=False, server_default='')
        )
    _recreate(CURRENT)
    op.create_table(
        'dossier_note',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dossier_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['author_id'], ['user_account.id']),
        sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_dossier_note_dossier_at', 'dossier_note', ['dossier_id', 'at'])
    op.create_index(
        'ix_dossier_lead_opened_on', 'dossier', ['lead_officer_id', 'opened_on', 'id']
    )
    op.create_table(
        'document',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dossier_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('media_type', sa.String(length=120), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id']),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_document_dossier', 'document', ['dossier_id', 'uploaded_at'])
    op.create_table(
        'document_content',
        sa.Column('document_id', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['document_id'], ['document.id']),
        sa.PrimaryKeyConstraint('document_id'),
    )
    _writes_index(WRITES_AFTER)
    with op.batch_alter_table('person') as batch:
        batch.add_column(sa.Column('date_of_birth', sa.Date(), nullable=True))
    with op.batch_alter_table('dossier_person') as batch:
        batch.add_column(sa.Column('family_of_id', sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column('relation', sa.String(length=60), nullable=False, server_default='')
        )
        batch.create_foreign_key(
            'fk_dossier_person_family_of_id_person', 'person', ['family_of_id'], ['id']
        )
    _rewrite_name_suffixes(_fold_without_accents)


def downgrade():
    _rewrite_name_suffixes(_fold_before)
    with op.batch_alter_table('dossier_person') as batch:
        batch.drop_constraint('fk_dossier_person_family_of_id_person', type_='foreignkey')
        batch.drop_column('relation')
        batch.drop_column('family_of_id')
    with op.batch_alter_table('person') as batch:
        batch.drop_column('date_of_birth')
    _writes_index(WRITES_BEFORE)
    op.drop_table('document_content')
    op.drop_index('ix_document_dossier', table_name='document')
    op.drop_table('document')
    op.drop_index('ix_dossier_lead_opened_on', table_name='dossier')
    op.drop_index('ix_dossier_note_dossier_at', table_name='dossier_note')
    op.drop_table('dossier_note')
    _recreate(BEFORE)
    with op.batch_alter_table('measure') as batch:
        batch.drop_column('withdrawal_reason')
        batch.drop_column('withdrawn_at')
    with op.batch_alter_table('threat_assessment') as batch:
        batch.drop_column('withdrawal_reason')
        batch.drop_column('withdrawn_at')
        batch.drop_column('version')
