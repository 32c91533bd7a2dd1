"""Helpdesk: service-level deadlines for new tickets."""
from datetime import datetime, timedelta
from enum import IntEnum

from smartworker import handler


class Priority(IntEnum):
    URGENT = 1
    HIGH = 2
    NORMAL = 3
    LOW = 4


#: First-response time per priority.
RESPONSE_TIME = {
    Priority.URGENT: timedelta(hours=1),
    Priority.HIGH: timedelta(hours=4),
    Priority.NORMAL: timedelta(hours=24),
    Priority.LOW: timedelta(hours=72),
}


@handler("ticket-sla")
def ticket_sla(data):
    """First-response deadline of a new ticket: ``opened_at`` (ISO, UTC) plus its priority's response time.

    ``priority`` is 1 (urgent) to 4 (low); a ticket without one is normal. Any other value is an error.
    """
    # The web form posts the priority as text ("2"), and "" when none was chosen.
    priority = Priority(int(data.get("priority") or Priority.NORMAL))
    opened = datetime.fromisoformat(data["opened_at"])
    return {
        "ticket": data["ticket"],
        "priority": priority.name.lower(),
        "respond_by": (opened + RESPONSE_TIME[priority]).isoformat(),
    }
