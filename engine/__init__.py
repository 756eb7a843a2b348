"""safeguard's engine: workflow definitions, cases, deadlines and their persistence."""
