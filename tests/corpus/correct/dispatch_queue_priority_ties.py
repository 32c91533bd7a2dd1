"""Courier dispatch: jobs are ordered with ``heapq`` on ``(priority, job)`` tuples; two jobs of the
same priority make heapq compare the dicts, which raises TypeError. The fix adds the arrival index as
a tie-breaker (the documented order: first come, first served within a priority)."""

KIND = "api-misuse"
STYLES = ("small-edit",)
HANDLER = "dispatch-order"

APP = {"dispatch/__init__.py": '''
"""Dispatch: the order couriers are sent out in."""
import heapq

from smartworker import handler


@handler("dispatch-order")
def dispatch_order(data):
    """``jobs`` by ``priority`` (1 first); jobs of the same priority in the order they arrived."""
    heap = []
    for job in data["jobs"]:
        heapq.heappush(heap, (job["priority"], job))
    return {"order": [heapq.heappop(heap)[1]["id"] for _ in range(len(heap))]}
'''}

FAILING = {"jobs": [{"id": "j1", "priority": 2}, {"id": "j2", "priority": 1}, {"id": "j3", "priority": 2}]}
ERROR = "TypeError"
EXPECTED = {"order": ["j2", "j1", "j3"]}

HISTORY = [{"jobs": [{"id": "a", "priority": 3}, {"id": "b", "priority": 1}]}, {"jobs": []}]

ACCEPTANCE = [
    ({"jobs": [{"id": "a", "priority": 3}, {"id": "b", "priority": 1}]}, {"order": ["b", "a"]}),
    ({"jobs": []}, {"order": []}),
    ({"jobs": [{"id": f"x{i}", "priority": 1} for i in range(5)]}, {"order": ["x0", "x1", "x2", "x3", "x4"]}),
]

FIX = {"dispatch/__init__.py": [
    ('''    for job in data["jobs"]:
        heapq.heappush(heap, (job["priority"], job))
    return {"order": [heapq.heappop(heap)[1]["id"] for _ in range(len(heap))]}''',
     '''    for arrived, job in enumerate(data["jobs"]):
        heapq.heappush(heap, (job["priority"], arrived, job))
    return {"order": [heapq.heappop(heap)[2]["id"] for _ in range(len(heap))]}'''),
]}
