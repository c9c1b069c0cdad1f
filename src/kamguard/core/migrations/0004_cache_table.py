"""The cache table (settings.CACHES: Django's database cache), so rate limits and other short-lived counters
are shared by every web process, like sessions — nothing that matters lives in one process's memory."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


def drop_cache_table(apps, schema_editor):
    from django.conf import settings

    for cache in settings.CACHES.values():
        if cache.get("BACKEND", "").endswith("DatabaseCache"):
            schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(cache['LOCATION'])}")


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0003_auditevent_append_only"),
    ]

    operations = [
        migrations.RunPython(create_cache_table, drop_cache_table),
    ]
