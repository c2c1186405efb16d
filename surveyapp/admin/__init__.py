"""The investigators' pages at /admin: surveys, rosters, e-mail wording, sending, response rates, downloads.

:mod:`.routes` holds the pages (blueprint ``admin``), :mod:`.downloads` the workbook and CSV files (blueprint
``downloads``), :mod:`.forms` their forms.
"""
