"""Inserting many rows of one model fast, for the batch services of imports (customers, intake, audit).

`bulk_create` builds a model instance per row and then, per row and field, runs the field's `pre_save` and
`get_db_prep_save` and compiles a placeholder: at tens of thousands of rows per second that is most of an
import's database time. `rows_insert` takes plain rows instead — one tuple of Python values per row, in the
order of the columns named — and works out once per column how Django adapts its values for this database.
SQLite gets multi-row `INSERT … VALUES (…), (…) RETURNING id` statements (the keys in row order, as
`bulk_create` reads them), or one `executemany` when no keys are wanted; PostgreSQL gets `COPY … FROM STDIN`
(one round trip, no statement text to parse per value), the keys drawn from the table's sequence first.

The values stored are those `bulk_create` would store:

* text, integer and boolean columns and foreign keys (given as ids) are sent as given — callers give the
  Python type the column holds, which both drivers store as Django's own adaptation would; dates, aware
  datetimes and JSON containers go straight to the backend's adapter (what `get_db_prep_save` ends in for
  them); every other value (decimals, addresses, naive datetimes, expressions …) goes through the field's
  own `get_db_prep_save`;
* a field not named gets what a new instance would have: `auto_now` / `auto_now_add` times now, otherwise
  the field's default (a callable default called per row).

No signals are sent and no model validation runs: the callers are services that validated their rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.utils import timezone

# Field types whose values Django hands to both drivers unchanged (get_db_prep_save is the identity for
# the values the services put in them: str, int, bool, None, and ids for foreign keys).
_PASS_THROUGH = frozenset({
    "AutoField", "BigAutoField", "SmallAutoField", "BigIntegerField", "BooleanField", "CharField", "IntegerField",
    "PositiveBigIntegerField", "PositiveIntegerField", "PositiveSmallIntegerField", "SlugField", "SmallIntegerField",
    "TextField",
})
MAX_ROWS_PER_STATEMENT = 500
_ZERO = dt.timedelta(0)


def _adapter(field: models.Field[Any, Any]) -> Callable[[Any], Any] | None:
    """How to turn a column's values into what the driver is given: None for as they are."""
    internal = field.get_internal_type()
    if internal in _PASS_THROUGH:
        return None
    if isinstance(field, models.ForeignKey) and field.target_field.get_internal_type() in _PASS_THROUGH:
        return None

    # The connection itself, not the `django.db.connection` proxy (a thread-local look-up at every use).
    db = connections[DEFAULT_DB_ALIAS]

    def generic(value: Any) -> Any:
        return field.get_db_prep_save(value, db)

    ops = db.ops
    if isinstance(field, models.DecimalField):
        adapt_decimal, to_python = ops.adapt_decimalfield_value, field.to_python
        digits, places = field.max_digits, field.decimal_places

        def decimal_value(value: Any) -> Any:
            # What get_db_prep_value ends in for a finite Decimal (its to_python copies it).
            if type(value) is Decimal and value.is_finite():
                return adapt_decimal(to_python(value), digits, places)
            return generic(value)

        return decimal_value
    if internal == "DateTimeField":
        adapt_datetime = ops.adapt_datetimefield_value
        # SQLite stores UTC as naive text (str of make_naive(value, UTC)): a time already at offset zero is that
        # text without its zone.
        utc_text = connection.vendor == "sqlite" and settings.USE_TZ and connection.timezone_name == "UTC"

        def datetime_value(value: Any) -> Any:
            # An aware datetime is already what get_prep_value makes of it: straight to the backend's adapter.
            if type(value) is dt.datetime and value.tzinfo is not None:
                if utc_text and value.utcoffset() == _ZERO:
                    return str(value.replace(tzinfo=None))
                return adapt_datetime(value)
            return generic(value)

        return datetime_value
    if internal == "DateField":
        adapt_date = ops.adapt_datefield_value

        def date_value(value: Any) -> Any:
            return adapt_date(value) if type(value) is dt.date else generic(value)

        return date_value
    if isinstance(field, models.JSONField):
        adapt_json, encoder = ops.adapt_json_value, field.encoder

        def json_value(value: Any) -> Any:
            # Plain containers are what get_prep_value returns unchanged (expressions take the generic path).
            return adapt_json(value, encoder) if type(value) in (dict, list) else generic(value)

        return json_value
    return generic


def _filler(field: models.Field[Any, Any]) -> Callable[[], Any]:
    """What a new instance holds in a field the caller did not name."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        if isinstance(field, models.DateTimeField):
            return timezone.now
        return dt.date.today  # as DateField.pre_save
    return field.get_default


def rows_insert(model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]], *,
                returning_ids: bool = False) -> list[int]:
    """Insert `rows` (each a sequence of values for `columns`: field names, or `<fk>_id` with an id) into the
    model's table. Returns the new primary keys in row order with `returning_ids`, else an empty list."""
    if not rows:
        return []
    meta = model._meta
    fields = [meta.get_field(name) for name in columns]
    named = {field.attname for field in fields if isinstance(field, models.Field)}
    if len(named) != len(columns):
        raise ValueError(f"{model.__name__}: each column once, and only concrete fields: {list(columns)}")
    pk = meta.pk
    assert pk is not None
    missing = [field for field in meta.concrete_fields if field.attname not in named and field is not pk]
    all_fields: list[models.Field[Any, Any]] = [*fields, *missing]  # type: ignore[list-item]
    adapters = [_adapter(field) for field in all_fields]
    fillers = [_filler(field) for field in missing]
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"{model.__name__}: {len(columns)} values expected, {len(row)} given")

    def adapted() -> Iterator[list[Any]]:
        for row in rows:
            full = [*row, *(fill() for fill in fillers)] if fillers else row
            yield [value if adapt is None or value is None else adapt(value)
                   for adapt, value in zip(adapters, full, strict=True)]

    table, names = str(meta.db_table), [str(field.column) for field in all_fields]
    if connection.vendor == "postgresql":
        # The rows are adapted while COPY sends them: the server stores the first ones while this process
        # prepares the next (the two cores work at once).
        if not returning_ids:
            _copy(table, names, adapted())
            return []
        ids = _next_ids(table, str(pk.column), len(rows))
        names.insert(0, str(pk.column))
        _copy(table, names, ([pk_value, *row] for pk_value, row in zip(ids, adapted(), strict=True)))
        return ids
    values = list(adapted())
    if not returning_ids:
        plain_rows_insert(table, names, values)
        return []
    return _values_insert(table, names, values, returning=str(pk.column))


def plain_rows_insert(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Rows whose values both drivers take as they are (text, numbers, None, or values already adapted) into a
    table, e.g. a temporary one: `executemany` on SQLite, `COPY … FROM STDIN` on PostgreSQL. `rows` may be a
    generator: on PostgreSQL each row is then made while the earlier ones are being stored."""
    if isinstance(rows, Sequence) and not rows:
        return
    if connection.vendor == "postgresql":
        _copy(table, columns, rows)
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
                           f"VALUES ({', '.join(['%s'] * len(columns))})", rows)  # type: ignore[arg-type]  # a generator: the driver iterates it


def _values_insert(table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, returning: str) -> list[int]:
    """Multi-row `INSERT … VALUES … RETURNING`: the new keys in row order, as bulk_create reads them."""
    quote = connection.ops.quote_name
    column_sql = ", ".join(quote(name) for name in columns)
    placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
    limit = connection.features.max_query_params or 65535
    per_statement = max(1, min(MAX_ROWS_PER_STATEMENT, limit // len(columns)))
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start:start + per_statement]
            cursor.execute(f"INSERT INTO {quote(table)} ({column_sql}) "  # noqa: S608 - quoted names, bound values
                           f"VALUES {', '.join([placeholder] * len(chunk))} RETURNING {quote(returning)}",
                           [value for row in chunk for value in row])
            ids.extend(row[0] for row in cursor.fetchall())
    return ids


def _next_ids(table: str, column: str, count: int) -> list[int]:
    """PostgreSQL: `count` new keys from the column's sequence (what the inserts would have drawn)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [connection.ops.quote_name(table), column, count])
        return [row[0] for row in cursor.fetchall()]


def _copy(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """PostgreSQL `COPY … FROM STDIN`: one round trip, values dumped by psycopg as a query's would be."""
    quote = connection.ops.quote_name
    # The driver's cursor (Django's has no copy()), its errors turned into Django's (IntegrityError …).
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(
            f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def instances_insert(objs: Sequence[models.Model]) -> None:
    """`bulk_create` of new instances of one model through `rows_insert`: `auto_now` / `auto_now_add` times set
    as `pre_save` sets them, every concrete field but the primary key inserted as the instance holds it, and
    each instance given its primary key and marked as saved."""
    if not objs:
        return
    model = type(objs[0])
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    stamped = [field for field in fields if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)]
    now = timezone.now()
    for obj in objs:
        if type(obj) is not model or obj.pk is not None:
            raise ValueError("instances_insert takes new instances of one model")
        # A related object assigned before it was saved gives its id now (and an unsaved one is refused).
        obj._prepare_related_fields_for_save(operation_name="instances_insert")  # type: ignore[attr-defined]
        for field in stamped:
            setattr(obj, field.attname, now if isinstance(field, models.DateTimeField) else dt.date.today())  # noqa: DTZ011 - as DateField.pre_save
    attnames = [field.attname for field in fields]
    ids = rows_insert(model, attnames, [tuple(getattr(obj, name) for name in attnames) for obj in objs],
                      returning_ids=True)
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias
