# Letter by tens of points: index 0 is 0-9, index 10 is exactly 100.
BY_DECILE = ["F", "F", "F", "F", "F", "F", "D", "C", "B", "A", "A"]


def letter(score):
    """The letter grade of a score out of 100."""
    return BY_DECILE[int(score // 10)]
