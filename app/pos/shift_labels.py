"""The words a shift's X / Z report prints for its codes, on the console's page and in the PDF
(``app.pos.z_report``). Apart from the PDF so the page does not load reportlab (issue 15)."""

from __future__ import annotations

VARIANCE_ZH = {"none": "无差额", "approved": "店长已批准", "pending": "待店长在后台确认"}
UNITS_ZH = {"piece": "个", "box": "箱", "kg": "千克", "jin": "斤"}
