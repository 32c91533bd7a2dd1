"""Blog publishing jobs."""
from smartworker import handler

MAX_TAGS = 5


def clean_tags(raw_tags: list, cleaned: list = []) -> list:
    """Strip, lower-case and de-duplicate one post's tags, keeping their order; at most MAX_TAGS."""
    for tag in raw_tags:
        tag = tag.strip().lower()
        if tag and tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise ValueError(f"a post may have at most {MAX_TAGS} tags")
    return cleaned


@handler("publish-posts")
def publish_posts(data: dict) -> dict:
    """Prepare a batch of posts for publishing: each post with its cleaned tags."""
    return {"posts": [{"slug": post["slug"], "tags": clean_tags(post["tags"])} for post in data["posts"]]}
