"""Figures from other systems (MASH contacts, children looked after, training, ...): the
known measures (``config/measures.yaml``), the period forms, the CSV, and the service that
keeps them with who imported them and when."""
