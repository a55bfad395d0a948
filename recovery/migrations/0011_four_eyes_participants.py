"""Four eyes in the database: who took part in a request, and triggers that refuse such a person as
its approver (PostgreSQL and SQLite alike), whatever wrote the row."""

from django.db import migrations

SUBJECTS = (("recovery_reissuerequest", "reissue_request_id"), ("recovery_deferredfiling", "deferred_filing_id"))
PARTICIPANTS = "recovery_reviewparticipant"
MESSAGE = "four eyes: a person who prepared, edited or submitted a request may not approve it"

POSTGRESQL = """
CREATE OR REPLACE FUNCTION {table}_four_eyes() RETURNS trigger AS $$
BEGIN
  IF NEW.approved_by_id IS NOT NULL AND EXISTS (
      SELECT 1 FROM {participants} p WHERE p.{column} = NEW.id AND p.user_id = NEW.approved_by_id) THEN
    RAISE EXCEPTION '{message}' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER {table}_four_eyes BEFORE INSERT OR UPDATE ON {table}
  FOR EACH ROW EXECUTE FUNCTION {table}_four_eyes();
CREATE OR REPLACE FUNCTION {participants}_{column}_four_eyes() RETURNS trigger AS $$
BEGIN
  IF NEW.{column} IS NOT NULL AND EXISTS (
      SELECT 1 FROM {table} s WHERE s.id = NEW.{column} AND s.approved_by_id = NEW.user_id) THEN
    RAISE EXCEPTION '{message}' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER {participants}_{column}_four_eyes BEFORE INSERT OR UPDATE ON {participants}
  FOR EACH ROW EXECUTE FUNCTION {participants}_{column}_four_eyes();
"""
POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS {table}_four_eyes ON {table};
DROP FUNCTION IF EXISTS {table}_four_eyes();
DROP TRIGGER IF EXISTS {participants}_{column}_four_eyes ON {participants};
DROP FUNCTION IF EXISTS {participants}_{column}_four_eyes();
"""
SQLITE = [
    """CREATE TRIGGER {table}_four_eyes_{event} BEFORE {event} ON {table}
    WHEN NEW.approved_by_id IS NOT NULL AND EXISTS (
      SELECT 1 FROM {participants} p WHERE p.{column} = NEW.id AND p.user_id = NEW.approved_by_id)
    BEGIN SELECT RAISE(ABORT, '{message}'); END""",
    """CREATE TRIGGER {participants}_{column}_four_eyes_{event} BEFORE {event} ON {participants}
    WHEN NEW.{column} IS NOT NULL AND EXISTS (
      SELECT 1 FROM {table} s WHERE s.id = NEW.{column} AND s.approved_by_id = NEW.user_id)
    BEGIN SELECT RAISE(ABORT, '{message}'); END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS {table}_four_eyes_{event}",
    "DROP TRIGGER IF EXISTS {participants}_{column}_four_eyes_{event}",
]


def _statements(vendor: str, *, drop: bool) -> list[str]:
    out = []
    for table, column in SUBJECTS:
        names = {"table": table, "column": column, "participants": PARTICIPANTS, "message": MESSAGE}
        if vendor == "postgresql":
            out.append((POSTGRESQL_DROP if drop else POSTGRESQL).format(**names))
        elif vendor == "sqlite":
            for event in ("INSERT", "UPDATE"):
                out += [sql.format(event=event, **names) for sql in (SQLITE_DROP if drop else SQLITE)]
    return out


def create_triggers(apps, schema_editor):
    for sql in _statements(schema_editor.connection.vendor, drop=False):
        schema_editor.execute(sql)


def drop_triggers(apps, schema_editor):
    for sql in _statements(schema_editor.connection.vendor, drop=True):
        schema_editor.execute(sql)


def backfill(apps, schema_editor):
    """Who prepared and submitted existing requests (the transition log holds the submitters)."""
    Participant = apps.get_model("recovery", "ReviewParticipant")
    Transition = apps.get_model("recovery", "ReviewTransition")
    rows = {}
    for model, field in (("ReissueRequest", "reissue_request_id"), ("DeferredFiling", "deferred_filing_id")):
        for pk, user_id in apps.get_model("recovery", model).objects.values_list("pk", "created_by_id"):
            rows[(field, pk, user_id, "created")] = None
        for pk, user_id in (
            Transition.objects.filter(**{f"{field}__isnull": False}, to_state="submitted", actor__isnull=False)
            .values_list(field, "actor_id")
            .distinct()
        ):
            rows[(field, pk, user_id, "submitted")] = None
    Participant.objects.bulk_create(
        [Participant(**{field: pk}, user_id=user_id, role=role) for field, pk, user_id, role in rows],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [("recovery", "0010_run_periods_four_eyes_and_moot_requests")]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
