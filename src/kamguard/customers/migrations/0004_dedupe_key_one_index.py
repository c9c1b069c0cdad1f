"""The key table keeps one index per lookup: the unique (customer, key) index already serves lookups by customer,
so the foreign key's own index goes (about a tenth of the cost of writing a customer's key rows). On SQLite the
table is rebuilt once."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0003_dedupe_stop_keys'),
    ]

    operations = [
        migrations.AlterField(
            model_name='dedupekey',
            name='customer',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='dedupe_keys', to='customers.customer'),
        ),
    ]
