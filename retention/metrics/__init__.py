"""Formulas, period KPIs, cohort tables, RFM summaries, value and concentration, survey metrics.

Each works on the engine's small tables and returns a tidy pandas frame or a scalar.
"""
