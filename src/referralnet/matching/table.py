"""A match result as a readable text table, for ``referralnet match``."""

from __future__ import annotations

from referralnet.matching.profile import Profile
from referralnet.matching.schemas import MatchResult


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def render(profile: Profile, result: MatchResult) -> str:
    needs = ", ".join(f"{n.service_type} ({n.priority})" for n in profile.needs)
    reach = "anywhere" if profile.max_distance_km is None else f"within {profile.max_distance_km:g} km"
    where = profile.location.locality or profile.location.county
    lines = [
        f"Profile: {profile.age_band} {profile.gender}, {profile.nationality_group}; needs {needs}; "
        f"from {where} ({profile.location.county}), {reach}",
        "",
    ]
    if result.candidates:
        lines.append(f"{'#':>2}  {'score':>5}  {'service':<28}  {'organisation':<30}  {'type':<26}  {'km':>6}  {'free':>7}  reasons")
        for i, c in enumerate(result.candidates, 1):
            km = "-" if c.distance_km is None else f"{c.distance_km:.1f}"
            free = "?" if c.available is None else (f"{c.available}/{c.total}" if c.total is not None else str(c.available))
            reasons = "; ".join(("! " if r.kind == "caveat" else "") + r.text for r in c.reasons)
            lines.append(
                f"{i:>2}  {c.score:>5.1f}  {_cut(c.service_name, 28):<28}  {_cut(c.organisation_name, 30):<30}  "
                f"{_cut(c.service_type, 26):<26}  {km:>6}  {free:>7}  {reasons}"
            )
    else:
        lines.append("No provider fits.")
    if result.bundles:
        lines += ["", "Providers that together cover every required need:"]
        for i, b in enumerate(result.bundles, 1):
            orgs = " + ".join(
                f"{o.organisation_name} ({', '.join(s.service_type for s in o.services)})" for o in b.organisations
            )
            lines.append(f"{i:>2}. {orgs}  [score {b.score:.1f}]")
    counts = {k: v for k, v in result.excluded.by_constraint.items() if v}
    if counts:
        lines += ["", "Excluded: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))]
    lines += [f"  {m}" for m in result.excluded.messages]
    return "\n".join(lines)
