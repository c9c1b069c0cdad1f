"""Pure Python for visits and contacts: no Django."""
