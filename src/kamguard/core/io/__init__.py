"""Data exchange: import and export of records as CSV, XLSX and JSON Lines (docs/import-formats.md).

`registry` holds one `Kind` per record type (importer + exporter); `runner` reads a file, runs the kind's
importer inside a transaction (dry run and atomic modes) and returns an `ImportReport`; `formats` turns
bytes into rows and rows into bytes. Pages, the API and the `kamguard import/export` commands call `runner`.
"""
