"""`safeguard demo`: the demonstration year in simulated time."""
