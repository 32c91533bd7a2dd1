def rolling_mean(values, window):
    """Means of every run of ``window`` consecutive values, in order."""
    out = []
    for start in range(len(values) - window + 1):
        out.append(sum(values[start:start + window]) / window)
    return out
