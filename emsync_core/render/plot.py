"""The V/A trajectory of a soundtrack over time, with the cuts and the music's chord onsets marked."""

from __future__ import annotations

import io

from matplotlib.figure import Figure  # not pyplot: no global figure state, so it can draw on a thread


def trajectory_png(conditions: list[dict], cuts_s: list[float], chord_onsets_s: list[float], duration_s: float,
                   title: str = "") -> bytes:
    """PNG bytes: step lines of valence and arousal per scene, dashed cuts, ticks at chord onsets."""
    fig = Figure(figsize=(10, 3.2), dpi=100)
    ax = fig.subplots()
    xs, vs, as_ = [], [], []
    for c in conditions:
        xs += [c["start_s"], c["end_s"]]
        vs += [c["valence"]] * 2
        as_ += [c["arousal"]] * 2
    ax.plot(xs, vs, color="tab:blue", lw=2, label="valence")
    ax.plot(xs, as_, color="tab:red", lw=2, label="arousal")
    for i, t in enumerate(cuts_s):
        ax.axvline(t, color="black", ls="--", lw=1, label="cut" if i == 0 else None)
    if chord_onsets_s:
        ax.plot(chord_onsets_s, [-1.05] * len(chord_onsets_s), "|", color="tab:green", ms=14, mew=2, label="chord onset")
    ax.set(xlim=(0, max(duration_s, 1e-3)), ylim=(-1.15, 1.1), xlabel="time (s)", ylabel="V / A", title=title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=8, ncol=4)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
