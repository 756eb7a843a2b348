"""CERAR: child-exploitation risk cases (pure rules and the coordinator's service)."""
