"""The production settings pass Django's deployment checks, run as an operator would."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_production_settings_pass_check_deploy(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "KAMGUARD_", "PYTEST_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "kamguard.settings.production",
        "KAMGUARD_ENV": "production",
        "KAMGUARD_SECRET_KEY": secrets.token_urlsafe(64),
        "KAMGUARD_DATA_DIR": str(tmp_path),
        "KAMGUARD_ALLOWED_HOSTS": "kamguard.example.com",
    })
    cli = shutil.which("kamguard", path=str(Path(sys.executable).parent))
    command = [cli, "check", "--deploy"] if cli else [sys.executable, "-m", "django", "check", "--deploy"]
    result = subprocess.run(command + ["--fail-level", "WARNING"], env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output and "ERRORS" not in output
    assert "no issues" in output


@pytest.mark.slow
def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "KAMGUARD_", "PYTEST_"))}
    env.update({"DJANGO_SETTINGS_MODULE": "kamguard.settings.production", "KAMGUARD_DATA_DIR": str(tmp_path)})
    result = subprocess.run([sys.executable, "-m", "django", "check", "--deploy"], env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode != 0
    assert "KAMGUARD_SECRET_KEY" in result.stderr


def test_production_security_settings():
    from django.conf import settings as active

    from kamguard.settings import production

    assert production.SESSION_COOKIE_SECURE and production.CSRF_COOKIE_SECURE
    assert production.SECURE_HSTS_SECONDS >= 31536000 and production.SECURE_SSL_REDIRECT
    assert production.SESSION_COOKIE_HTTPONLY and production.DEBUG is False
    assert "CONTENT_SECURITY_POLICY" in dir(production)
    assert active.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
