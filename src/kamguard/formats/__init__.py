"""Number and date formats where ours differ from Django's for a language (FORMAT_MODULE_PATH)."""
