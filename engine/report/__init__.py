"""The partnership's figures: the morning dashboard (:mod:`engine.report.status`) and the
annual report (:mod:`engine.report.figures` computes, :mod:`engine.report.queries` reads,
:mod:`engine.report.render` prints). Counts and references only: no child-identifying data.
"""
