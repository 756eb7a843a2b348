"""Default settings shipped with safeguard (``default.toml``)."""
