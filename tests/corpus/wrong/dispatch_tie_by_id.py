"""Breaks ties by job id: jobs of one priority go out in alphabetical order, not in the order they arrived."""
BASE = "dispatch_queue_priority_ties"
FLAW = "wrong-value"
FIX = {"dispatch/__init__.py": [('heapq.heappush(heap, (job["priority"], job))', 'heapq.heappush(heap, (job["priority"], job["id"], job))'),
                                ('heapq.heappop(heap)[1]["id"]', 'heapq.heappop(heap)[2]["id"]')]}
ACCEPTANCE = [({"jobs": [{"id": "b", "priority": 1}, {"id": "a", "priority": 1}]}, {"order": ["b", "a"]})]
