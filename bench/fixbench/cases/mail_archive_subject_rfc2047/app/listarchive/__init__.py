"""Mailing-list archive: index entries for incoming list messages."""
import re
from email.header import decode_header

from smartworker import handler

# Reply and forward prefixes of common mail clients (English, German, Nordic, French).
REPLY_PREFIX = re.compile(r"^\s*((re|aw|fwd?|wg|sv|tr)\s*:\s*)+", re.IGNORECASE)


def decoded_subject(raw_subject):
    """The Subject header as text."""
    return "".join(text for text, _charset in decode_header(raw_subject))


def thread_key(subject):
    """Messages whose subjects differ only by reply prefixes, case or spacing share a thread."""
    return " ".join(REPLY_PREFIX.sub("", subject).split()).casefold()


@handler("archive-message")
def archive_message(data):
    """Index entry for one message: ``headers`` as received (Subject may hold RFC 2047 encoded words)."""
    headers = data["headers"]
    subject = decoded_subject(headers.get("Subject", ""))
    return {
        "list": data["list"],
        "message_id": headers["Message-ID"].strip("<>"),
        "subject": subject,
        "thread": thread_key(subject),
    }
