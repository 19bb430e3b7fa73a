//! One error type for every handler. Each variant carries the message the caller sees and
//! maps to exactly one HTTP status, so a handler never has to pick a status code by hand.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AppError {
    /// Malformed or invalid input: bad JSON, wrong types, unknown query values, off-menu drinks.
    #[error("{0}")]
    BadRequest(String),
    /// No verified identity on the request.
    #[error("{0}")]
    Unauthorized(String),
    /// A verified identity that lacks the right (not an admin, not the owner).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// The request is valid but the order is not in a state that allows it.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A required part of the request is missing (the original answers 422 to a scan without a token).
    #[error("{0}")]
    Unprocessable(String),
    /// A dependency (database, bus, workflow) failed; the message is safe to show, details are logged.
    #[error("{0}")]
    Internal(String),
    /// A dependency failed and nothing was changed: the caller may simply try again.
    #[error("{0}")]
    Unavailable(String),
}

impl AppError {
    pub fn status(&self) -> u16 {
        match self {
            AppError::BadRequest(_) => 400,
            AppError::Unauthorized(_) => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::PayloadTooLarge(_) => 413,
            AppError::Unprocessable(_) => 422,
            AppError::Internal(_) => 500,
            AppError::Unavailable(_) => 503,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            AppError::BadRequest(m)
            | AppError::Unauthorized(m)
            | AppError::Forbidden(m)
            | AppError::NotFound(m)
            | AppError::Conflict(m)
            | AppError::PayloadTooLarge(m)
            | AppError::Unprocessable(m)
            | AppError::Internal(m)
            | AppError::Unavailable(m) => m,
        }
    }

    /// The `{"message": ...}` body every 4xx/5xx response carries.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "message": self.message() })
    }

    pub fn bad_request(m: impl Into<String>) -> Self {
        AppError::BadRequest(m.into())
    }
    pub fn forbidden(m: impl Into<String>) -> Self {
        AppError::Forbidden(m.into())
    }
    pub fn not_found(m: impl Into<String>) -> Self {
        AppError::NotFound(m.into())
    }
    pub fn conflict(m: impl Into<String>) -> Self {
        AppError::Conflict(m.into())
    }
    pub fn internal(m: impl Into<String>) -> Self {
        AppError::Internal(m.into())
    }
    pub fn unavailable(m: impl Into<String>) -> Self {
        AppError::Unavailable(m.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_maps_to_its_status_and_a_message_body() {
        let cases = [
            (AppError::bad_request("b"), 400),
            (AppError::Unauthorized("u".into()), 401),
            (AppError::forbidden("f"), 403),
            (AppError::not_found("n"), 404),
            (AppError::conflict("c"), 409),
            (AppError::PayloadTooLarge("p".into()), 413),
            (AppError::Unprocessable("q".into()), 422),
            (AppError::internal("i"), 500),
            (AppError::unavailable("a"), 503),
        ];
        for (err, status) in cases {
            assert_eq!(err.status(), status);
            assert_eq!(err.body()["message"], err.message());
            assert_eq!(err.to_string(), err.message());
        }
    }
}
