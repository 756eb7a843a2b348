"""The partnership's figures: the morning dashboard (:mod:`engine.apps.report.status`) and the
annual report (:mod:`engine.apps.report.review_queries` counts the practice reviews in SQL and
:mod:`engine.apps.report.review_figures` makes their sections; :mod:`engine.apps.report.queries`
reads the CERAR and MACE rows and :mod:`engine.apps.report.figures` computes theirs;
:mod:`engine.apps.report.sources` makes them section sources,
:mod:`engine.apps.report.document` composes chapters per area and previous year,
:mod:`engine.apps.report.render`, :mod:`engine.apps.report.docx_out` and
:mod:`engine.apps.report.pdf` print). Counts and references only: no child-identifying data.
"""
