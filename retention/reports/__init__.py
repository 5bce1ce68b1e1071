"""Report notebooks in batch: parameters and their validation, planning, papermill runs, HTML.

Also the narrative helpers, the only way a data-derived string reaches a report page.
"""
