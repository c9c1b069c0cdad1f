"""Every write of the risk engine: one function per use case, keyword-only, `actor` first, transactional,
audited. `actor=None` is the system (the nightly scan, the hook after imports, the `kamguard` command).

- `access`    who may see risk, investigate and configure (auditors and administrators; nobody about themself);
- `config`    settings_get, settings_update;
- `dataset`   dataset_load (the data as of a date, read set-based), dataset_load_with_basis and Basis (what the
              update after an import starts from), basis_pack/basis_unpack, data_bounds;
- `scan`      scan_run (evaluate, store the ranked scores, raise or refresh alerts; a full scan of today keeps its
              basis, an update after an import starts from it);
- `alerts`    alert_suppress, alert_confirm, alert_mark_false, alert_reopen;
- `cases`     case_open, case_note_add, case_interview_add, case_attachment_add, case_attachment_open,
              case_alert_link, case_share, case_unshare, case_close, case_reopen, penalty_record.
"""
