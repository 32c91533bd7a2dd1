def component_weights(course):
    """Each graded component's weight as a fraction of the final grade, by component name."""
    # Courses set up since the new registrar give weights in percent (30, 70), older ones as
    # fractions (0.3, 0.7): dividing by their sum reads both.
    total = sum(c["weight"] for c in course["components"])
    return {c["name"]: c["weight"] / total for c in course["components"]}
