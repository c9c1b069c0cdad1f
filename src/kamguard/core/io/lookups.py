"""Filtering by a long list of keys, for the batch reads of imports.

`.filter(external_id__in=keys)` with 2,000 keys costs more in the importing process than the query costs the
server: Django prepares each key (`get_prep_lookup`, `batch_process_rhs`) and writes a placeholder per key, and
psycopg's client-side binding parses the statement and quotes every key again. `keys_in` gives the same rows
with the keys as one parameter: `column = ANY(%s)` with an array on PostgreSQL, `column IN (SELECT value FROM
json_each(%s))` with a JSON array on SQLite. Use it as a filter: `Model.objects.filter(keys_in(Model, "field",
keys))`; the rows are read (and converted) by the ORM as usual.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db import connection, models
from django.db.models.expressions import RawSQL


def keys_in(model: type[models.Model], field: str, keys: Iterable[str | int]) -> RawSQL:
    """A condition on `model`'s own column for `field` (a field name, or `<fk>_id`): its value is one of `keys`
    (text or integers, as the column holds; None is never matched, as with `__in`)."""
    meta = model._meta
    model_field = meta.get_field(field)
    assert isinstance(model_field, models.Field)
    column = model_field.column
    quote = connection.ops.quote_name
    target = f"{quote(meta.db_table)}.{quote(str(column))}"
    values: list[Any] = [key for key in dict.fromkeys(keys) if key is not None]
    # Quoted names from the model's meta; the keys are bound parameters.
    if connection.vendor == "postgresql":
        # The array typed as the column is (a list of small integers would be sent as smallint[], and the
        # planner does not use the column's index for a comparison across types).
        array = f"{model_field.db_type(connection)}[]"
        return RawSQL(f"{target} = ANY(%s::{array})", [values], output_field=models.BooleanField())  # noqa: S611
    return RawSQL(f"{target} IN (SELECT value FROM json_each(%s))",  # noqa: S608,S611
                  [json.dumps(values, ensure_ascii=False)], output_field=models.BooleanField())
