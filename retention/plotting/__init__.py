"""Axes-level seaborn/matplotlib plots of the metric tables.

They take a table, draw it and return the Axes; they never recompute a table.
"""
