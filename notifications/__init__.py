"""Notifications: templates, rendering and delivery. Built by the scheduler issue; the engine
only ever enqueues (it never sends mail itself)."""
