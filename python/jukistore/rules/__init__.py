"""Rules as data: retention periods (``retention.toml``), read by :mod:`jukistore.retention.rules`."""
