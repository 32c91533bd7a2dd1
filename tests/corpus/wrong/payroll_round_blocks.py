"""``range(round(extra / 15))``: a started block is rounded up to a whole one, so 14 minutes over pay a
quarter hour."""
BASE = "payroll_overtime_py2_division"
FLAW = "wrong-value"
FIX = {"payroll/__init__.py": [("range(extra / BLOCK_MINUTES)", "range(round(extra / BLOCK_MINUTES))")]}
