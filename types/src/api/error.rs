//! Error bodies: `{code, message}` and, for pool submissions, `{code, message, failures}` naming
//! the request items that were rejected.

use serde::{Deserialize, Serialize};

/// A Beacon API error body (`ErrorMessage` / `IndexedErrorMessage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorMessage {
    /// An error code, usually the HTTP status.
    #[serde(with = "super::quoted::number_or_string_u64")]
    pub code: u64,
    /// What went wrong.
    pub message: String,
    /// For batch submissions: which items failed and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures: Option<Vec<IndexedError>>,
    /// Stack traces some nodes add in debug mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stacktraces: Option<Vec<String>>,
}

/// One rejected item of a batch submission.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IndexedError {
    /// The item's position in the request list.
    #[serde(with = "super::quoted::number_or_string_u64")]
    pub index: u64,
    /// Why it was rejected.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn indexed_errors_round_trip() {
        let body = json!({"code": 400, "message": "some failures", "failures": [{"index": 3, "message": "invalid signature"}]});
        let decoded: ErrorMessage = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(decoded.failures.as_ref().unwrap()[0].index, 3);
        assert_eq!(serde_json::to_value(&decoded).unwrap(), body);
        let plain: ErrorMessage =
            serde_json::from_value(json!({"code": "503", "message": "syncing"})).unwrap();
        assert_eq!((plain.code, plain.failures), (503, None));
    }
}
