//! Identifiers that come from outside (paths, query strings, bus events), parsed once at the
//! edge so an id that cannot exist is refused with a 400 before it reaches DynamoDB (whose key
//! limit would otherwise turn a very long id into a 500) or Step Functions.

use crate::AppError;
use crate::lifecycle::is_valid_execution_name;
use std::fmt;

/// An order id. Every order's id is also the name of its workflow execution, so an order id
/// follows Step Functions' execution-name rule (1 to 80 characters, no whitespace, control or
/// reserved characters); anything else names no order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderId(String);

impl OrderId {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        if is_valid_execution_name(raw) {
            Ok(OrderId(raw.to_owned()))
        } else {
            // The id is not echoed: it may be huge or carry control characters.
            Err(AppError::bad_request(
                "Invalid order id: it must be 1 to 80 characters without spaces or any of <>{}[]?*\"#%\\^|~`$&,;:/",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for OrderId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Longest QR code accepted; the codes handed out are 10 characters, the margin leaves room
/// for a longer format without accepting arbitrary blobs.
pub const MAX_QR_CODE_CHARS: usize = 64;

/// A scanned QR code: URL-safe characters (`A-Z a-z 0-9 _ -`, the alphabet codes are minted
/// from), at most [`MAX_QR_CODE_CHARS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrCode(String);

impl QrCode {
    /// A code that cannot have been handed out is answered like a wrong code: 400
    /// `Invalid code`, the original's answer.
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let url_safe = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
        if !raw.is_empty() && raw.len() <= MAX_QR_CODE_CHARS && raw.chars().all(url_safe) {
            Ok(QrCode(raw.to_owned()))
        } else {
            Err(AppError::bad_request("Invalid code"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_follow_the_execution_name_rule() {
        for ok in [
            "o1",
            "V1StGXR8_Z5jdHi6B-myT",
            "42f0011b-7d2e-4c1b-9a55-1c2d3e4f5a6b",
        ] {
            assert_eq!(OrderId::parse(ok).unwrap().as_str(), ok);
        }
        assert!(OrderId::parse(&"a".repeat(80)).is_ok());
        let long = "a".repeat(1_100);
        for bad in ["", "a b", "a/b", "a#b", "a\u{0}b", "é\u{7}", "x?y", &long] {
            let err = OrderId::parse(bad).unwrap_err();
            assert_eq!(err.status(), 400, "{bad:?}");
            assert!(
                !err.message().contains(&long[..100]),
                "the id is not echoed"
            );
        }
    }

    #[test]
    fn qr_codes_are_short_and_url_safe() {
        for ok in ["abcdefghij", "A_b-9", &"z".repeat(MAX_QR_CODE_CHARS)] {
            assert_eq!(QrCode::parse(ok).unwrap().as_str(), ok);
        }
        let long = "a".repeat(1_100);
        for bad in ["", "a b", "a/b", "ab%20", "ñandú", &long] {
            let err = QrCode::parse(bad).unwrap_err();
            assert_eq!(
                (err.status(), err.message()),
                (400, "Invalid code"),
                "{bad:?}"
            );
        }
    }
}
