"""The only passes over every transaction; everything downstream works on their small tables.

The contract a second engine implements is stated in :mod:`retention.engine.frame`.
"""
