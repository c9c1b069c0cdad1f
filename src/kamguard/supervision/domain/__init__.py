"""Pure Python for supervision: no Django."""
