"""Reference data an admin keeps: measure type names in Dutch and French, an
organisation's functional mailbox

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 02:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

# The reference list's names as the translations had them until now, so that an
# installation keeps showing them once the names live in the table.
NAMES = {
    'contact_point': ('Vaste contactpersoon bij de lokale politie',
                      'Point de contact permanent à la police locale'),
    'emergency_priority': ('Prioritaire behandeling bij de noodcentrales',
                           'Traitement prioritaire dans les centres d’urgence'),
    'home_security': ('Advies over de beveiliging van de woning',
                      'Conseils de sécurisation du domicile'),
    'patrols': ('Patrouilles', 'Patrouilles'),
    'permanent_presence': ('Vaste aanwezigheid van politiediensten',
                           'Présence permanente de services de police'),
    'escort': ('Escorte', 'Escorte'),
    'close_protection': ('Persoonsbeveiliging', 'Protection rapprochée'),
    'safe_address': ('Schuiladres', 'Lieu sécurisé'),
    'perimeter': ('Veiligheidsperimeter', 'Périmètre de sécurité'),
}


def upgrade():
    with op.batch_alter_table('measure_type', schema=None) as batch_op:
        batch_op.add_column(sa.Column('label_nl', sa.String(120), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('label_fr', sa.String(120), nullable=False, server_default=''))
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mailbox', sa.String(254), nullable=False, server_default=''))
    measure_type = sa.table(
        'measure_type', sa.column('code', sa.String), sa.column('label_nl', sa.String),
        sa.column('label_fr', sa.String),
    )
    for code, (nl, fr) in NAMES.items():
        op.execute(
            measure_type.update()
            .where(measure_type.c.code == code)
            .values(label_nl=nl, label_fr=fr)
        )


def downgrade():
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('mailbox')
    with op.batch_alter_table('measure_type', schema=None) as batch_op:
        batch_op.drop_column('label_fr')
        batch_op.drop_column('label_nl')
