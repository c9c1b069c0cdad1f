"""Distance from a check-in to the customer, and when a check-in counts as far away.

Customers have no coordinates of their own, only a region (district, city or province) whose centroid is
known. A district is small, a province is large, so the threshold grows with the level: a check-in is "far"
when it is farther from the centroid than the threshold of the customer's region level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8

# Metres from the region's centroid beyond which a check-in is flagged, by region level.
FAR_THRESHOLD_M: dict[str, int] = {
    "district": 15_000,
    "city": 50_000,
    "province": 300_000,
}


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def coordinates_valid(latitude: float | None, longitude: float | None) -> bool:
    if latitude is None or longitude is None:
        return False
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return False
    return -90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0


@dataclass(frozen=True)
class Reference:
    """Where the customer is taken to be: a region centroid and its level."""

    latitude: float
    longitude: float
    level: str
    name: str = ""


@dataclass(frozen=True)
class Assessment:
    location_status: str  # "ok", "denied", "unavailable", "no_reference"
    distance_m: int | None
    threshold_m: int | None
    is_far: bool


def assess(*, latitude: float | None, longitude: float | None, denied: bool,
           reference: Reference | None) -> Assessment:
    """How a check-in relates to the customer's place. No location is recorded as such, never refused."""
    if denied:
        return Assessment("denied", None, None, False)
    if not coordinates_valid(latitude, longitude):
        return Assessment("unavailable", None, None, False)
    if reference is None:
        return Assessment("no_reference", None, None, False)
    assert latitude is not None and longitude is not None
    threshold = FAR_THRESHOLD_M.get(reference.level, FAR_THRESHOLD_M["province"])
    meters = distance_m(latitude, longitude, reference.latitude, reference.longitude)
    return Assessment("ok", int(round(meters)), threshold, meters > threshold)
