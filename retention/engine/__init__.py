"""The only passes over every transaction; everything downstream works on their small tables.

:mod:`retention.engine.frame` holds the NumPy passes over a DataFrame and states the contract;
:mod:`retention.engine.lazy` runs the same passes inside a database engine through Ibis.
"""
