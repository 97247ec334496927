//! The query of nearby search (`GET /api/v1/stores?lat=&lon=&radius_m=&category=&limit=&cursor=`).

use crate::domain::store::{Category, Latitude, Longitude};
use crate::error::{ApiError, FieldError};
use crate::geo::SearchCursor;
use crate::pagination;

/// Largest search radius in metres.
pub const MAX_RADIUS_M: u32 = 50_000;

/// A valid search query.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    /// Centre latitude.
    pub lat: Latitude,
    /// Centre longitude.
    pub lon: Longitude,
    /// Radius in metres, `1..=MAX_RADIUS_M`.
    pub radius_m: u32,
    /// Only stores of this category.
    pub category: Option<Category>,
    /// Page size.
    pub limit: u32,
    /// Where the previous page ended.
    pub after: Option<SearchCursor>,
}

impl SearchQuery {
    /// Parses the query parameters (`param(name)` reads one): 422 naming every missing or
    /// invalid parameter, 400 for a cursor this API did not issue.
    pub fn parse(param: impl Fn(&str) -> Option<String>) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let e = &mut errors;
        let lat = number(param("lat"), "lat").and_then(|v| Latitude::parse(v, "lat"));
        let lat = keep(e, lat);
        let lon = number(param("lon"), "lon").and_then(|v| Longitude::parse(v, "lon"));
        let lon = keep(e, lon);
        let radius_m = keep(e, radius(param("radius_m")));
        let category = param("category").map(|c| Category::parse(&c, "category"));
        let category = keep(e, category.transpose());
        let limit = keep(e, pagination::parse_limit(param("limit").as_deref()));
        let (Some(lat), Some(lon), Some(radius_m), Some(category), Some(limit)) =
            (lat, lon, radius_m, category, limit)
        else {
            return Err(ApiError::invalid_fields(errors));
        };
        let after = match param("cursor") {
            Some(raw) => Some(
                pagination::decode_cursor(&raw)
                    .and_then(|parts| SearchCursor::from_parts(&parts))
                    .ok_or_else(pagination::bad_cursor)?,
            ),
            None => None,
        };
        Ok(SearchQuery {
            lat,
            lon,
            radius_m,
            category,
            limit,
            after,
        })
    }
}

/// The value of a parse, or `None` with its error recorded.
fn keep<T>(errors: &mut Vec<FieldError>, parsed: Result<T, FieldError>) -> Option<T> {
    parsed.map_err(|e| errors.push(e)).ok()
}

fn number(raw: Option<String>, field: &str) -> Result<f64, FieldError> {
    let raw = raw.ok_or_else(|| FieldError::new(field, "is required"))?;
    raw.trim()
        .parse::<f64>()
        .map_err(|_| FieldError::new(field, "must be a number"))
}

fn radius(raw: Option<String>) -> Result<u32, FieldError> {
    let raw = raw.ok_or_else(|| FieldError::new("radius_m", "is required"))?;
    raw.trim()
        .parse::<u32>()
        .ok()
        .filter(|r| (1..=MAX_RADIUS_M).contains(r))
        .ok_or_else(|| {
            FieldError::new(
                "radius_m",
                format!("must be an integer from 1 to {MAX_RADIUS_M}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn parse(query: &[(&str, &str)]) -> Result<SearchQuery, ApiError> {
        SearchQuery::parse(|name| {
            query
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    fn fields(e: ApiError) -> (u16, Vec<String>) {
        let status = e.status();
        let v: Value = serde_json::from_str(&e.to_problem_json()).unwrap();
        let names = v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_string())
            .collect();
        (status, names)
    }

    #[test]
    fn a_complete_query_parses_with_defaults() {
        let q = parse(&[("lat", "52.52"), ("lon", "13.405"), ("radius_m", "1500")]).unwrap();
        assert_eq!(q.lat.degrees(), 52.52);
        assert_eq!(q.radius_m, 1500);
        assert_eq!((q.category, q.limit, q.after), (None, 50, None));
        let q = parse(&[
            ("lat", "-90"),
            ("lon", "180"),
            ("radius_m", "50000"),
            ("category", "bakery"),
            ("limit", "200"),
        ])
        .unwrap();
        assert_eq!(q.category, Some(Category::Bakery));
    }

    #[test]
    fn every_bad_parameter_is_named() {
        assert_eq!(
            fields(parse(&[]).unwrap_err()),
            (422, vec!["lat".into(), "lon".into(), "radius_m".into()])
        );
        let bad = parse(&[
            ("lat", "91"),
            ("lon", "NaN"),
            ("radius_m", "50001"),
            ("category", "florist"),
            ("limit", "0"),
        ]);
        assert_eq!(
            fields(bad.unwrap_err()).1,
            ["lat", "lon", "radius_m", "category", "limit"]
        );
        for radius in ["0", "1.5", "-3", "abc", ""] {
            let e = parse(&[("lat", "0"), ("lon", "0"), ("radius_m", radius)]).unwrap_err();
            assert_eq!(fields(e), (422, vec!["radius_m".into()]), "{radius}");
        }
        for lon in ["inf", "-180.0001", "x"] {
            let e = parse(&[("lat", "0"), ("lon", lon), ("radius_m", "5")]).unwrap_err();
            assert_eq!(fields(e), (422, vec!["lon".into()]), "{lon}");
        }
    }

    #[test]
    fn cursors_must_be_ours() {
        let ok = [("lat", "0"), ("lon", "0"), ("radius_m", "5")];
        let cursor = SearchCursor {
            distance_m: 3.5,
            id: "7d1c5a3e-8a3b-4f0e-9a51-1f2e3d4c5b6a".into(),
        };
        let encoded = cursor.encode();
        let mut with = ok.to_vec();
        with.push(("cursor", &encoded));
        assert_eq!(parse(&with).unwrap().after, Some(cursor));
        let forged = pagination::encode_cursor(&["2026-01-01", "x"]);
        for bad in ["nope", forged.as_str()] {
            let mut with = ok.to_vec();
            with.push(("cursor", bad));
            assert_eq!(parse(&with).unwrap_err().status(), 400);
        }
    }
}
