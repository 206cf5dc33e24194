"""Trust anchors: RFC 9162 Merkle logs, C2SP signed checkpoints and witnesses.

Modules: ``merkle`` (hashing, reference proofs, verifiers), ``tiles`` (proofs from
stored nodes, NodeStore), ``store_sql`` (SQLAlchemy storage), ``note`` (signed
notes and keys), ``checkpoint`` (checkpoints, Checkpointer, cosignatures),
``witness`` (tlog-witness add-checkpoint), ``verify_cli`` (vector verification).
"""
