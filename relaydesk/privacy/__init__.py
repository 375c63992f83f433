"""Privacy: per-site retention (purging old conversations), a visitor's data export and
erasure on request (GDPR/PIPL), with stored receipts, and owner-only data files."""
