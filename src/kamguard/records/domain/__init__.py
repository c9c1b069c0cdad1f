"""Pure Python for other records and market information: no Django."""
