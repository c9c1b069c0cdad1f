"""Pure allocation engine: rule sets (parsing, the JSON form, compiled matching), the decisions of the
strategies with their explanation, and fairness figures.

No Django import here (checked by import-linter); ``kamguard.allocation.services`` translates rule set
versions, people, teams and pools into these dataclasses and stores the decisions.
"""
