def component_weights(course):
    """Each graded component's weight as a fraction of the final grade, by component name."""
    return {c["name"]: c["weight"] for c in course["components"]}
