//! Geometry of nearby search, pure: great-circle distances, the bounding box that lets D1 use
//! its coordinate index, and the distance-ordered page with its cursor.
//!
//! Search runs in two steps: D1 returns the open stores inside [`bounding_box`] (an indexed
//! range scan), then [`nearest_page`] computes exact haversine distances, drops what lies in the
//! box's corners beyond the radius, and orders by `(distance, id)`.

use crate::pagination;

/// Mean Earth radius (IUGG), metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Slack added to every side of a box so that floating-point rounding cannot drop a point
/// lying exactly on the radius (about 1 cm).
const BOX_SLACK_DEG: f64 = 1e-7;

/// Great-circle distance in metres between two WGS84 points given in degrees (haversine).
pub fn haversine_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
}

/// A latitude/longitude rectangle in degrees (inclusive bounds), never crossing the
/// antimeridian: where the circle would, the box spans every longitude instead.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingBox {
    /// Southern edge.
    pub min_lat: f64,
    /// Northern edge.
    pub max_lat: f64,
    /// Western edge.
    pub min_lon: f64,
    /// Eastern edge.
    pub max_lon: f64,
}

/// The smallest box (up to [`BOX_SLACK_DEG`]) that holds every point within `radius_m` of
/// (`lat`, `lon`). Near a pole it spans all longitudes; across the antimeridian too (wider than
/// needed, but exact filtering follows, so results stay right everywhere).
pub fn bounding_box(lat: f64, lon: f64, radius_m: f64) -> BoundingBox {
    let angular = radius_m / EARTH_RADIUS_M;
    let dlat = angular.to_degrees() + BOX_SLACK_DEG;
    let (min_lat, max_lat) = (lat - dlat, lat + dlat);
    let all_longitudes = BoundingBox {
        min_lat: min_lat.max(-90.0),
        max_lat: max_lat.min(90.0),
        min_lon: -180.0,
        max_lon: 180.0,
    };
    if min_lat <= -90.0 || max_lat >= 90.0 {
        return all_longitudes;
    }
    // Widest longitude offset of the circle (reached north of the equator-side point).
    let ratio = angular.sin() / lat.to_radians().cos();
    if !(ratio.is_finite() && ratio < 1.0) {
        return all_longitudes;
    }
    let dlon = ratio.asin().to_degrees() + BOX_SLACK_DEG;
    if lon - dlon < -180.0 || lon + dlon > 180.0 {
        return all_longitudes;
    }
    BoundingBox {
        min_lat,
        max_lat,
        min_lon: lon - dlon,
        max_lon: lon + dlon,
    }
}

/// Where a distance-ordered page ends: the last item's exact distance and id.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchCursor {
    /// Exact (unrounded) distance of the last item, metres.
    pub distance_m: f64,
    /// Its id (ties in distance are ordered by id).
    pub id: String,
}

impl SearchCursor {
    /// The opaque form handed to clients. `f64`'s `Display` is the shortest string that parses
    /// back to the same value, so the position survives the round trip exactly.
    pub fn encode(&self) -> String {
        pagination::encode_cursor(&[&self.distance_m.to_string(), &self.id])
    }

    /// Reads the parts of a cursor produced by [`SearchCursor::encode`]; `None` for others.
    pub fn from_parts(parts: &[String]) -> Option<Self> {
        let [distance, id] = parts else {
            return None;
        };
        let distance_m: f64 = distance.parse().ok()?;
        let valid =
            distance_m.is_finite() && distance_m >= 0.0 && uuid::Uuid::parse_str(id).is_ok();
        valid.then(|| SearchCursor {
            distance_m,
            id: id.clone(),
        })
    }

    fn is_before(&self, distance_m: f64, id: &str) -> bool {
        (self.distance_m, self.id.as_str()) < (distance_m, id)
    }
}

/// One page of search results: items with their exact distance, and the cursor of the next
/// page when there is one.
#[derive(Debug)]
pub struct NearestPage<T> {
    /// `(distance_m, item)`, nearest first.
    pub items: Vec<(f64, T)>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<SearchCursor>,
}

/// From candidates (`(lat, lon, item)` from the bounding box), the items within `radius_m` of
/// the origin, ordered by `(distance, id)`, after `after`, at most `limit` of them.
pub fn nearest_page<T>(
    origin: (f64, f64),
    radius_m: f64,
    candidates: Vec<(f64, f64, T)>,
    id: impl Fn(&T) -> &str,
    after: Option<&SearchCursor>,
    limit: usize,
) -> NearestPage<T> {
    let mut hits: Vec<(f64, T)> = candidates
        .into_iter()
        .map(|(lat, lon, item)| (haversine_m(origin.0, origin.1, lat, lon), item))
        .filter(|(d, item)| *d <= radius_m && after.is_none_or(|c| c.is_before(*d, id(item))))
        .collect();
    hits.sort_by(|(da, a), (db, b)| da.total_cmp(db).then_with(|| id(a).cmp(id(b))));
    let more = hits.len() > limit;
    hits.truncate(limit);
    let next = match hits.last() {
        Some((d, item)) if more => Some(SearchCursor {
            distance_m: *d,
            id: id(item).to_string(),
        }),
        _ => None,
    };
    NearestPage { items: hits, next }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BERLIN: (f64, f64) = (52.5200, 13.4050);
    const PARIS: (f64, f64) = (48.8566, 2.3522);

    /// The point `metres` from (lat, lon) towards `bearing_deg` (great circle).
    fn destination(lat: f64, lon: f64, bearing_deg: f64, metres: f64) -> (f64, f64) {
        let (p1, l1, b) = (lat.to_radians(), lon.to_radians(), bearing_deg.to_radians());
        let d = metres / EARTH_RADIUS_M;
        let p2 = (p1.sin() * d.cos() + p1.cos() * d.sin() * b.cos()).asin();
        let l2 = l1 + (b.sin() * d.sin() * p1.cos()).atan2(d.cos() - p1.sin() * p2.sin());
        (p2.to_degrees(), (l2.to_degrees() + 540.0) % 360.0 - 180.0)
    }

    #[test]
    fn haversine_matches_known_distances() {
        let d = haversine_m(BERLIN.0, BERLIN.1, PARIS.0, PARIS.1);
        assert!((d - 877_460.0).abs() < 1_000.0, "{d}");
        // One degree of latitude is R * pi / 180.
        let one_degree = haversine_m(10.0, 20.0, 11.0, 20.0);
        assert!((one_degree - EARTH_RADIUS_M.to_radians()).abs() < 1e-6);
        assert_eq!(haversine_m(1.0, 2.0, 1.0, 2.0), 0.0);
        // Across the antimeridian the short way round.
        assert!(haversine_m(0.0, 179.9, 0.0, -179.9) < 23_000.0);
        // Antipodes do not produce NaN.
        assert!(haversine_m(0.0, 0.0, 0.0, 180.0).is_finite());
    }

    #[test]
    fn box_holds_every_point_on_the_circle() {
        for &(lat, lon) in &[
            BERLIN,
            (0.0, 0.0),
            (-33.9, 18.4),
            (70.0, -150.0),
            (89.0, 10.0),
        ] {
            for radius in [1.0, 950.0, 12_345.0, 50_000.0] {
                let bbox = bounding_box(lat, lon, radius);
                for step in 0..72 {
                    let (plat, plon) = destination(lat, lon, f64::from(step) * 5.0, radius);
                    assert!(
                        (bbox.min_lat..=bbox.max_lat).contains(&plat)
                            && (bbox.min_lon..=bbox.max_lon).contains(&plon),
                        "{lat},{lon} r={radius} bearing {step}: {bbox:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn box_is_tight_away_from_poles() {
        let bbox = bounding_box(BERLIN.0, BERLIN.1, 10_000.0);
        let dlat = bbox.max_lat - BERLIN.0;
        assert!((dlat - 10_000.0 / EARTH_RADIUS_M.to_radians()).abs() < 1e-6);
        // Longitude degrees are shorter at 52.5 N, so the box is wider in degrees.
        let dlon = bbox.max_lon - BERLIN.1;
        assert!(dlon > dlat * 1.6 && dlon < dlat * 1.7, "{dlon} vs {dlat}");
    }

    #[test]
    fn box_is_clamped_near_poles_and_antimeridian() {
        let polar = bounding_box(89.99, 0.0, 50_000.0);
        assert_eq!(
            (polar.min_lon, polar.max_lon, polar.max_lat),
            (-180.0, 180.0, 90.0)
        );
        let south = bounding_box(-90.0, -180.0, 50_000.0);
        assert_eq!(
            (south.min_lat, south.min_lon, south.max_lon),
            (-90.0, -180.0, 180.0)
        );
        let dateline = bounding_box(0.0, 179.9, 50_000.0);
        assert_eq!((dateline.min_lon, dateline.max_lon), (-180.0, 180.0));
        assert!(dateline.max_lat < 1.0);
        for bbox in [polar, south, dateline] {
            assert!([bbox.min_lat, bbox.max_lat, bbox.min_lon, bbox.max_lon]
                .iter()
                .all(|v| v.is_finite()));
        }
    }

    #[test]
    fn cursor_round_trips_exactly_and_rejects_garbage() {
        let cursor = SearchCursor {
            distance_m: 1_234.567_890_123_4,
            id: "7d1c5a3e-8a3b-4f0e-9a51-1f2e3d4c5b6a".into(),
        };
        let parts = pagination::decode_cursor(&cursor.encode()).unwrap();
        assert_eq!(SearchCursor::from_parts(&parts), Some(cursor));
        let id = "7d1c5a3e-8a3b-4f0e-9a51-1f2e3d4c5b6a";
        for bad in [
            vec![],
            vec!["12.5"],
            vec!["abc", id],
            vec!["-1", id],
            vec!["NaN", id],
            vec!["inf", id],
            vec!["1", "not-a-uuid"],
            vec!["1", id, "extra"],
        ] {
            let parts: Vec<String> = bad.iter().map(|s| s.to_string()).collect();
            assert_eq!(SearchCursor::from_parts(&parts), None, "{bad:?}");
        }
    }

    fn ids(page: &NearestPage<String>) -> Vec<&str> {
        page.items.iter().map(|(_, s)| s.as_str()).collect()
    }

    #[test]
    fn pages_are_ordered_by_distance_then_id_without_gaps() {
        let origin = (0.0, 0.0);
        // Two stores at the same spot (tie broken by id), one farther, one outside the radius.
        let candidates = || {
            vec![
                (0.0, 0.002, "c".to_string()),
                (0.0, 0.001, "b".to_string()),
                (0.0, 0.001, "a".to_string()),
                (0.0, 0.1, "far".to_string()),
            ]
        };
        let first = nearest_page(origin, 1_000.0, candidates(), String::as_str, None, 2);
        assert_eq!(ids(&first), ["a", "b"]);
        let cursor = first.next.clone().unwrap();
        assert_eq!(cursor.id, "b");
        let second = nearest_page(
            origin,
            1_000.0,
            candidates(),
            String::as_str,
            Some(&cursor),
            2,
        );
        assert_eq!(ids(&second), ["c"]);
        assert!(second.next.is_none());
        assert!((second.items[0].0 - 222.39).abs() < 0.1);
    }

    #[test]
    fn radius_is_inclusive_and_exact() {
        let inside = destination(BERLIN.0, BERLIN.1, 0.0, 999.0);
        let outside = destination(BERLIN.0, BERLIN.1, 0.0, 1_001.0);
        let candidates = vec![
            (inside.0, inside.1, "in".to_string()),
            (outside.0, outside.1, "out".to_string()),
        ];
        let page = nearest_page(BERLIN, 1_000.0, candidates, String::as_str, None, 10);
        assert_eq!(ids(&page), ["in"]);
    }
}
