"""Retention and erasure: rules as data, purge plans, purge runs that prove the bytes are gone.

- :mod:`~jukistore.retention.rules`: the rules (``jukistore/rules/retention.toml``), overrides,
  and when a record falls due.
- :mod:`~jukistore.retention.holds`: legal holds on persons.
- :mod:`~jukistore.retention.plan`: what a purge as of a date would erase, counted per rule.
- :mod:`~jukistore.retention.purge`: the purge run (approval, batches, rebuild, swap, byte scan).
- :mod:`~jukistore.retention.receipt`: the receipt a run leaves, without personal data.
"""
