"""The city's credit ledger: credit records, enterprise consent, bank attestations, access.

Pure rules only (no database, web framework, chain client or clock: time is passed in).

- ``record_types`` — the six credit record types (``CR-LIC`` … ``CR-JUD``) and their
  content schemas;
- ``records`` — ``CreditRecord``, its credit-log entry bytes, and supersession (a
  correction or successful appeal supersedes a record; records are never edited);
- ``consent`` — the enterprise's signed consent to credit queries, its state changes and
  ``evaluate_query``; ``consent_changes`` — the signed pause/resume/revoke documents;
- ``attestation`` — the short-lived, platform-signed answer a bank receives, with the
  inclusion proofs it rests on, and its offline verifier; ``attestation_format`` — that
  document's fixed shape and strict reader;
- access records of bank queries live in the data-exchange log (``audit_trail.exchanges``,
  kind ``credit_query``), one hash chain with every other exchange.
"""
