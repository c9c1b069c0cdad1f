"""Every write of allocation, one module per area (each module's docstring lists its functions):

- `rulesets` — rule_set_create, rule_set_update, rule_set_version_create, rule_set_version_update,
  rule_set_version_activate, rule_set_version_retire, rule_set_version_diff, rules_check, version_ruleset.
- `people` — capacity_set, absence_add, absence_remove, departure_notice_set, departure_notice_remove,
  team_setting_save.
- `intake` — intake_submit (the one path of every lead), intake_review, intake_fields_clean, web_form_token,
  web_intake_submit.
- `overrides` — customer_reassign (manual re-assignment with a reason, logged as an override).
- `simulation` — simulation_run (dry run of a version on past intake or a file; writes nothing).
- `fairness` — fairness_report, fairness_visible_team_ids, fairness_check_run (periodic), fairness_alert_acknowledge.
- `state` — state_load, cursors_commit, subject_build (the engine's world from the database).
- `common` — permissions (may_manage_rule_set, may_manage_person, may_manage_team) and allocation_lock.

Reason sentences for pages: `kamguard.allocation.reasons.decision_sentence(decision)`.
"""
