"""Data migrations that encrypt secrets stored in plain text before (and decrypt them when reversed).

Raw SQL on purpose: the model field now decrypts on every read, and these rows are not encrypted yet.
Table and column names come from the migration itself, never from input.
"""

from __future__ import annotations

from outage_portal import fields


def _encrypted(value: str) -> str:
    return value if fields.is_encrypted(value) else fields.encrypt(value)


def _decrypted(value: str) -> str:
    return fields.decrypt(value) if fields.is_encrypted(value) else value


def encrypt_column(table: str, column: str):
    def forward(apps, schema_editor):
        _rewrite(schema_editor, table, column, _encrypted)

    def backward(apps, schema_editor):
        _rewrite(schema_editor, table, column, _decrypted)

    return forward, backward


def _rewrite(schema_editor, table: str, column: str, change) -> None:
    connection = schema_editor.connection
    table, column = connection.ops.quote_name(table), connection.ops.quote_name(column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {column} FROM {table} WHERE {column} <> ''")  # noqa: S608
        for pk, value in cursor.fetchall():
            cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [change(value), pk])  # noqa: S608
