"""Orders keep one index per lookup: (customer, order_date) and (manager, order_date) already serve lookups by
customer and by manager, so the foreign keys' own indexes go — every order written (the ERP import above all)
updated eleven indexes. On SQLite the table is rebuilt once."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('contracts', '0001_initial'),
        ('customers', '0005_timeline_fk_index_covered'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='order',
            name='customer',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='orders', to='customers.customer', verbose_name='customer'),
        ),
        migrations.AlterField(
            model_name='order',
            name='manager',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='orders', to=settings.AUTH_USER_MODEL, verbose_name='credited manager'),
        ),
    ]
