"""Allocation (issue 4): rule sets, lead intake, the decision log, simulation and fairness monitoring.

Layout: `domain/` the pure rule engine (no Django); `models.py` the tables; `services/` every write;
`selectors.py` every read, starting from the user; `tasks.py` the periodic fairness check.
"""
