"""Production: HTTPS only, strict cookies, HSTS. Passes `manage.py check --deploy`."""

from kamguard.settings.base import *  # noqa: F403
from kamguard.settings.env import env_bool, env_int

DEBUG = False
SECURE_SSL_REDIRECT = env_bool("KAMGUARD_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("KAMGUARD_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
