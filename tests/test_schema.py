"""The 22 columns are stated in fraudlake.schema and typed again in the DDL that
PostgreSQL runs (resources/debezium/postgres/10-fraudlake.sql): the two agree."""

from __future__ import annotations

import re

from fraudlake.resources import resource
from fraudlake.schema import PRIMARY_KEY, TRANSACTION_COLUMNS, ColumnType

# How each column type is declared in PostgreSQL (DECIMAL: exact money, see schema.py).
SQL_TYPES = {
    ColumnType.TEXT: "text",
    ColumnType.BIGINT: "bigint",
    ColumnType.INTEGER: "integer",
    ColumnType.DOUBLE: "double precision",
    ColumnType.DECIMAL: "numeric(12, 2)",
    ColumnType.TIMESTAMP: "timestamp",
    ColumnType.DATE: "date",
    ColumnType.SMALLINT: "smallint",
}


def _create_table(name: str) -> list[tuple[str, str, str]]:
    """(column, type, constraints) of `CREATE TABLE … name (…)`, in order."""
    sql = resource("debezium", "postgres", "10-fraudlake.sql").read_text()
    body = re.search(rf"CREATE TABLE IF NOT EXISTS {name} \((.*?)\n\);", sql, re.S).group(1)
    columns = []
    for line in body.splitlines():
        line = line.split("--")[0].strip().rstrip(",")
        if not line or line.split()[0].upper() in ("UNIQUE", "PRIMARY", "CHECK", "CONSTRAINT"):
            continue
        name_, rest = line.split(None, 1)
        sql_type = next(t for t in sorted(SQL_TYPES.values(), key=len, reverse=True) + ["timestamptz"]
                        if rest.startswith(t + " ") or rest == t)
        columns.append((name_, sql_type, rest[len(sql_type):].strip()))
    return columns


def test_the_transactions_ddl_declares_the_schema_columns_in_order_with_their_types():
    declared = _create_table("transactions")
    assert [c[0] for c in declared[: len(TRANSACTION_COLUMNS)]] == list(TRANSACTION_COLUMNS)
    for (column, sql_type, constraints), (name, column_type) in zip(declared, TRANSACTION_COLUMNS.items()):
        assert sql_type == SQL_TYPES[column_type], column
        # Every Kaggle column is required; the key is the primary key (NOT NULL by definition).
        assert ("PRIMARY KEY" if name == PRIMARY_KEY else "NOT NULL") in constraints, column
    # Beyond the 22, only what PostgreSQL fills itself.
    assert all("DEFAULT" in constraints for _, _, constraints in declared[len(TRANSACTION_COLUMNS):])
