"""Reports 0 stars for a product without reviews (a rating nobody gave) and keeps the half-to-even rounding."""
BASE = "rating_average_half_up"
FLAW = "hiding-default"
FIX = {"reviews/__init__.py": [('round(sum(stars) / len(stars), 1)', 'round(sum(stars) / len(stars), 1) if stars else 0')]}
