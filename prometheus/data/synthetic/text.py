"""Headline templates: varied wording per tone, so a text model has something to learn beyond a keyword."""

from __future__ import annotations

from enum import StrEnum


class Tone(StrEnum):
    """Tone of a headline (ground truth; not in the vendor file)."""

    POSITIVE = "positive"
    NEGATIVE = "negative"
    NEUTRAL = "neutral"


#: Tones in the code order used in arrays (0, 1, 2).
TONES: tuple[Tone, ...] = (Tone.POSITIVE, Tone.NEGATIVE, Tone.NEUTRAL)

TEMPLATES: dict[Tone, tuple[str, ...]] = {
    Tone.POSITIVE: (
        "{name} raises full-year outlook as demand for its {product} accelerates",
        "{name} wins multi-year {product} contract with {partner}",
        "Analysts upgrade {name} to buy, citing margin expansion",
        "{name} shares climb after strong {region} sales",
        "{name} announces ${amount} million share buyback",
        "{name} secures regulatory approval for new {product}",
        "{name} expands {product} partnership with {partner}",
        "Record orders lift {name} backlog by {pct}%",
        "{name} beats its own guidance on robust {region} demand",
        "Upbeat investor day: {name} targets {pct}% annual growth",
        "{name} lands major {region} deal, boosting its {product} unit",
        "Brokers turn bullish on {name} after cost cuts take hold",
        "{name} lifts dividend by {pct}% on strong cash flow",
        "{name} gains market share in {product}, survey shows",
        "{name} CEO says {product} pipeline has never been stronger",
        "Insiders buy {name} stock as turnaround gathers pace",
    ),
    Tone.NEGATIVE: (
        "{name} cuts outlook, blaming weak {region} demand",
        "{name} recalls {product} after safety complaints",
        "Analysts downgrade {name} to sell on margin pressure",
        "{name} shares slide as {partner} ends {product} contract",
        "{name} faces regulatory probe over {product} sales practices",
        "{name} delays {product} launch, citing supply problems",
        "{name} warns of {pct}% drop in quarterly revenue",
        "{name} chief financial officer resigns unexpectedly",
        "Short seller targets {name}, questions {region} accounting",
        "{name} loses key {product} customer to a rival",
        "Credit agency puts {name} on negative watch",
        "{name} to lay off {pct}% of staff as sales stall",
        "{name} suspends buyback amid slowing {product} orders",
        "Lawsuit over {product} weighs on {name}",
        "{name} misses production targets at its {region} plants",
        "Weak {region} bookings hit {name} sentiment",
    ),
    Tone.NEUTRAL: (
        "{name} to present at {partner} industry conference",
        "{name} schedules quarterly results call",
        "{name} names new head of {region} operations",
        "{name} completes previously announced {product} reorganisation",
        "{name} files annual report with regulators",
        "{name} board declares regular quarterly dividend",
        "{name} opens new office in {region}",
        "{name} to hold annual shareholder meeting next month",
        "{name} appoints independent director to its board",
        "{name} reaffirms {product} strategy at investor meeting",
        "{name} updates {product} pricing for {region} customers",
        "{name} confirms timing of {product} rollout",
    ),
}

EARNINGS_TEMPLATES: dict[Tone, tuple[str, ...]] = {
    Tone.POSITIVE: (
        "{name} {quarter} earnings beat estimates; EPS ${eps} vs ${est} expected",
        "{name} tops {quarter} profit forecasts as revenue grows",
        "{name} posts better-than-expected {quarter} results",
    ),
    Tone.NEGATIVE: (
        "{name} {quarter} earnings miss estimates; EPS ${eps} vs ${est} expected",
        "{name} falls short of {quarter} profit forecasts",
        "{name} reports disappointing {quarter} results",
    ),
    Tone.NEUTRAL: (
        "{name} {quarter} earnings in line with estimates at ${eps} a share",
        "{name} reports {quarter} results broadly as expected",
    ),
}

PRODUCTS = (
    "cloud platform",
    "flagship drug",
    "electric vehicle",
    "payments service",
    "chip",
    "streaming service",
    "software suite",
    "logistics network",
    "medical device",
    "consumer brand",
    "wind turbine",
    "data-center",
)
PARTNERS = (
    "a major retailer",
    "a US agency",
    "a European carmaker",
    "a large bank",
    "an Asian supplier",
    "a hospital group",
    "a telecom operator",
    "a defense prime",
)
REGIONS = ("North America", "Europe", "China", "Latin America", "Japan", "India", "the Middle East", "US")
SOURCES = ("Synthetic Wire", "Market Pulse", "Daily Ledger", "Street Desk")
