"""retention: customer-retention analysis for transaction logs.

Formulas, period KPIs, cohort tables and heatmaps, CLV models and papermill reports.

Examples
--------
>>> import retention as rt
>>> rt.retention_rate(start=1000, end=800, new=400)
0.4
"""

import lazy_loader

# every public name is listed once, in __init__.pyi, and imported on first use: ``import
# retention`` stays fast, pandas, matplotlib and scipy load when a function needs them
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)

__version__ = "0.1.0"
