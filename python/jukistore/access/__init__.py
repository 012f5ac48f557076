"""Who may touch resident data, and the record of every touch (SPEC §7)."""
