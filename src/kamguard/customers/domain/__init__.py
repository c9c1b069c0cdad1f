"""Pure duplicate-check (查重) engine for customers: normalisation, exact keys, blocking keys, scoring.

No Django import here (checked by import-linter); the Django layer translates customer rows into
:class:`~kamguard.customers.domain.dedupe.CustomerRecord` and stores the blocking keys.
"""
