"""Settings for the test suite: SQLite by default, PostgreSQL when KAMGUARD_DATABASE_URL says so."""

import os
import tempfile

os.environ.setdefault("KAMGUARD_SECRET_KEY", "test-secret-key-not-for-production-0123456789")
os.environ.setdefault("KAMGUARD_DATA_DIR", tempfile.mkdtemp(prefix="kamguard-test-"))

from kamguard.settings.base import *  # noqa: E402,F403
from kamguard.settings.base import DATA_DIR, DATABASES  # noqa: E402

if str(DATABASES["default"]["ENGINE"]).endswith("sqlite3"):
    # A file, not memory, so threads in concurrency tests share one database.
    DATABASES["default"]["NAME"] = str(DATA_DIR / "test.sqlite3")
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-db.sqlite3")}

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # noqa: S303 - speed in tests only
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": DATA_DIR / "files"}},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
AXES_FAILURE_LIMIT = 5
TOTP_REQUIRED_ROLES = ["admin", "auditor", "external_auditor"]
