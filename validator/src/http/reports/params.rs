//! Query and path parameters, parsed by hand so every error is a 400 naming the parameter
//! (axum's extractors answer plain text without the name). Unknown and repeated query
//! parameters are refused: a typo must not silently return the default page.

use pool_registry::ReportOrder;
use types::Hash256;

use crate::http::error::ApiError;

/// Parsed query parameters of one request.
#[derive(Debug, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses `raw` (the query string), accepting only `allowed` names, each at most once.
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Self, ApiError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (name, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            if !allowed.contains(&name.as_ref()) {
                return Err(ApiError::bad_param(
                    &name,
                    format!("unknown query parameter (allowed: {})", allowed.join(", ")),
                ));
            }
            if pairs.iter().any(|(n, _)| *n == name) {
                return Err(ApiError::bad_param(&name, "given more than once"));
            }
            pairs.push((name.into_owned(), value.into_owned()));
        }
        Ok(Self { pairs })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// An unsigned integer parameter.
    pub fn u64(&self, name: &str) -> Result<Option<u64>, ApiError> {
        self.get(name).map(|v| parse_u64(name, v)).transpose()
    }

    /// `order=asc|desc`.
    pub fn order(&self) -> Result<Option<ReportOrder>, ApiError> {
        self.get("order")
            .map(|v| match v {
                "asc" => Ok(ReportOrder::Ascending),
                "desc" => Ok(ReportOrder::Descending),
                other => Err(ApiError::bad_param(
                    "order",
                    format!("expected `asc` or `desc`, got {other:?}"),
                )),
            })
            .transpose()
    }

    /// `limit`, between 1 and `max` (`default` when absent).
    pub fn limit(&self, default: u64, max: u64) -> Result<u64, ApiError> {
        match self.u64("limit")? {
            None => Ok(default),
            Some(n) if (1..=max).contains(&n) => Ok(n),
            Some(n) => Err(ApiError::bad_param(
                "limit",
                format!("must be between 1 and {max}, got {n}"),
            )),
        }
    }
}

/// An unsigned decimal integer (no sign, no leading `+`, at most 20 digits).
pub fn parse_u64(name: &str, value: &str) -> Result<u64, ApiError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_param(
            name,
            format!("expected an unsigned decimal integer, got {value:?}"),
        ));
    }
    value
        .parse()
        .map_err(|_| ApiError::bad_param(name, format!("{value} is out of range")))
}

/// A 32-byte root written `0x` + 64 hex digits.
pub fn parse_root(name: &str, value: &str) -> Result<Hash256, ApiError> {
    let bad = || {
        ApiError::bad_param(
            name,
            format!("expected 0x followed by 64 hex digits, got {value:?}"),
        )
    };
    let hex_digits = value.strip_prefix("0x").ok_or_else(bad)?;
    if hex_digits.len() != 64 {
        return Err(bad());
    }
    let bytes = hex::decode(hex_digits).map_err(|_| bad())?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map(Hash256::from)
        .map_err(|_| bad())
}

/// The ordering name used in page links.
pub fn order_name(order: ReportOrder) -> &'static str {
    match order {
        ReportOrder::Ascending => "asc",
        ReportOrder::Descending => "desc",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_names_bad_parameters() {
        let q = Query::parse(Some("limit=5&order=desc"), &["limit", "order"]).unwrap();
        assert_eq!(q.limit(50, 200).unwrap(), 5);
        assert_eq!(q.order().unwrap(), Some(ReportOrder::Descending));
        let err = Query::parse(Some("limt=5"), &["limit"]).unwrap_err();
        assert!(err.message.contains("`limt`"), "{}", err.message);
        let err = Query::parse(Some("limit=1&limit=2"), &["limit"]).unwrap_err();
        assert!(err.message.contains("more than once"), "{}", err.message);
        let q = Query::parse(Some("limit=0"), &["limit"]).unwrap();
        assert!(q.limit(50, 200).unwrap_err().message.contains("`limit`"));
        let q = Query::parse(Some("limit=-1"), &["limit"]).unwrap();
        assert!(q.limit(50, 200).is_err());
        assert!(parse_u64("frame", "+1").is_err());
        assert!(parse_u64("frame", "18446744073709551616").is_err());
        assert_eq!(
            parse_u64("frame", "18446744073709551615").unwrap(),
            u64::MAX
        );
    }

    #[test]
    fn roots() {
        let root = format!("0x{}", "ab".repeat(32));
        assert_eq!(
            parse_root("root", &root).unwrap(),
            Hash256::repeat_byte(0xab)
        );
        assert!(parse_root("root", &"ab".repeat(32)).is_err());
        assert!(parse_root("root", "0x12").is_err());
        assert!(parse_root("root", &format!("0x{}", "zz".repeat(32))).is_err());
    }
}
