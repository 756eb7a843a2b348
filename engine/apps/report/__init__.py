"""The partnership's figures: the morning dashboard (:mod:`engine.apps.report.status`) and the
annual report (:mod:`engine.apps.report.figures` computes, :mod:`engine.apps.report.queries` reads,
:mod:`engine.apps.report.render` prints). Counts and references only: no child-identifying data.
"""
