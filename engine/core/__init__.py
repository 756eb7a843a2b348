"""The core: definitions, rules, calendar, deadline planner, machine, store, access and audit.

Knows no domain (practice review, CERAR, MACE), application or front end."""
