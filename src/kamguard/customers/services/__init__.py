"""Every write to customers, one module per area: records, ownership (pool, claims, transfers), disputes, pools."""
