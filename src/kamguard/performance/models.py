"""Tables of this app (see the module docstring of services.py for who may write what)."""
