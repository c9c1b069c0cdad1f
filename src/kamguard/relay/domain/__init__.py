"""Pure Python for information relay forms: no Django."""
