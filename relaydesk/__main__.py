"""`python -m relaydesk` is the `relaydesk` command."""

from relaydesk.api.cli import main

main()
