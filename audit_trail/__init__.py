"""Regulatory traces, data-exchange records and the regulator's audit of their logs.

Pure rules (no database, web framework, chain client or clock: time is passed in):

- ``traces`` — trace events of regulated objects (food lots, drug batches, construction
  projects, enterprises, waste trucks), hash-chained per subject;
- ``exchanges`` — data-exchange and bank credit-query access records, one log-wide chain;
- ``chains`` — what both share: field rules, chain links and ``Finding``;
- ``audit`` — a log slice checked against its leaves, signed checkpoints and on-chain
  anchors, with findings naming each entry at fault; ``scan`` is its streaming pass;
- ``report`` / ``report_html`` — a self-contained audit report anyone can re-verify
  offline (``citychain audit verify report.json``), and its HTML view.
"""
