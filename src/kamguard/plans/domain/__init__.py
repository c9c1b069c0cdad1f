"""Pure Python for monthly marketing plans: no Django."""
