"""The audit log: an append-only record of what staff did (sign-ins, role and team changes,
site settings, exports, deletions, key rotations). `service.record` is the only writer."""
