"""Authenticator secrets sealed at rest (core.sealing): the column widens for the sealed form and every plain
secret already stored is sealed; going back opens them again."""

from __future__ import annotations

from django.db import migrations, models


def seal_plain(apps, schema_editor):  # type: ignore[no-untyped-def]
    from kamguard.core.sealing import is_sealed, seal

    device_model = apps.get_model("accounts", "TOTPDevice")
    for device in device_model.objects.all().only("pk", "secret"):
        if not is_sealed(device.secret):
            device_model.objects.filter(pk=device.pk).update(secret=seal(device.secret))


def open_sealed(apps, schema_editor):  # type: ignore[no-untyped-def]
    from kamguard.core.sealing import is_sealed, unseal

    device_model = apps.get_model("accounts", "TOTPDevice")
    for device in device_model.objects.all().only("pk", "secret"):
        if is_sealed(device.secret):
            device_model.objects.filter(pk=device.pk).update(secret=unseal(device.secret))


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_initial")]

    operations = [
        migrations.AlterField(model_name="totpdevice", name="secret", field=models.CharField(max_length=255)),
        migrations.RunPython(seal_plain, open_sealed),
    ]
