"""The county e-commerce public service centre's reporting to the county (issue 17).

- ``dashboard`` / ``performance``: live operations figures by China-time day (orders and sales by
  channel, upward and downward flow, what needs attention), read from summary tables.
- ``targets``: the plan's measurable targets as data, progress computed from the platform's own
  records or from evidence the centre enters; the asset register of printers and PDAs.
- ``funds``: the plan's budget lines and spending against them.
- ``reports``: the quarterly report (progress, funds, performance), frozen when issued.

Admins edit; the county official (``Role.county_official``) reads and never sees personal data.
"""
