"""MACE: meeting series, agendas, invitations (pure modules) and the MACE service.

``series`` (dates), ``agenda`` (what goes on an agenda), ``ics`` (iCalendar invitations) are
pure; ``service`` does the database work, one transaction per command.
"""
