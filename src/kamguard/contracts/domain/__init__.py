"""Pure Python for contracts, orders and payments: no Django."""
