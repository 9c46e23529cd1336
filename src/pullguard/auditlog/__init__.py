"""Who actually read the pull secrets: API-server audit events, judged against the inventory."""
