"""Applications built on the services: the demonstration year and the reports."""
