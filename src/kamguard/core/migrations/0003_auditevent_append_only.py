"""The database refuses UPDATE and DELETE on the audit trail, whoever the client is.

Written by hand (a RunPython that picks the SQL for the database in use): Django has no operation for
triggers. The same statements live in kamguard.core.audit.GUARD_SQL, which `flush` and a post_migrate
check use; a test checks that the two agree.

A DBA can still lift the guard on purpose (SQLite: DROP TRIGGER; PostgreSQL: ALTER TABLE … DISABLE TRIGGER
or session_replication_role = replica); the hash chain is what detects what they then change.
"""

from django.db import migrations

SQL = {
    "sqlite": {
        "install": [
            "CREATE TRIGGER IF NOT EXISTS core_auditevent_no_update BEFORE UPDATE ON core_auditevent "
            "BEGIN SELECT RAISE(ABORT, 'core_auditevent is append-only: UPDATE refused'); END",
            "CREATE TRIGGER IF NOT EXISTS core_auditevent_no_delete BEFORE DELETE ON core_auditevent "
            "BEGIN SELECT RAISE(ABORT, 'core_auditevent is append-only: DELETE refused'); END",
        ],
        "remove": [
            "DROP TRIGGER IF EXISTS core_auditevent_no_update",
            "DROP TRIGGER IF EXISTS core_auditevent_no_delete",
        ],
    },
    "postgresql": {
        "install": [
            "CREATE OR REPLACE FUNCTION core_auditevent_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'core_auditevent is append-only: % refused', TG_OP "
            "USING ERRCODE = 'insufficient_privilege'; END $$",
            "DROP TRIGGER IF EXISTS core_auditevent_append_only ON core_auditevent",
            "CREATE TRIGGER core_auditevent_append_only BEFORE UPDATE OR DELETE ON core_auditevent "
            "FOR EACH ROW EXECUTE FUNCTION core_auditevent_refuse_change()",
        ],
        "remove": [
            "DROP TRIGGER IF EXISTS core_auditevent_append_only ON core_auditevent",
            "DROP FUNCTION IF EXISTS core_auditevent_refuse_change()",
        ],
    },
}


def _run(step):
    def run(apps, schema_editor):
        statements = SQL.get(schema_editor.connection.vendor)
        if statements is None:
            raise RuntimeError(f"No append-only guard for the {schema_editor.connection.vendor} database.")
        for statement in statements[step]:
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0002_initial"),
    ]

    operations = [
        migrations.RunPython(_run("install"), _run("remove"), elidable=False),
    ]
