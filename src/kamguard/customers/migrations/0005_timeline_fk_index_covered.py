"""Timeline entries keep one index per lookup: timeline_customer_idx (customer, occurred_at) already serves
lookups by customer, so the foreign key's own index goes. On SQLite the table is rebuilt once."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0004_dedupe_key_one_index'),
    ]

    operations = [
        migrations.AlterField(
            model_name='timelineentry',
            name='customer',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='timeline', to='customers.customer'),
        ),
    ]
