//! Errors of functions that the order workflow calls. The workflow's `Retry` and `Catch` match
//! on the error *name*, so each failure carries a deliberate one instead of a Rust type name.

use domain::AppError;
use lambda_runtime::Diagnostic;

/// Retry: the dependency failed and the same call may well succeed later.
pub const TRANSIENT: &str = "Transient";
/// Catch: the order is already finished (cancelled between steps); do not act on it.
pub const ORDER_CLOSED: &str = "OrderClosed";
/// Catch: the payment provider refused; final.
pub const PAYMENT_DECLINED: &str = "PaymentDeclined";
/// Catch: the shop cannot make this order; final.
pub const RESTAURANT_REJECTED: &str = "RestaurantRejected";
/// Catch (as `States.ALL`): the input is not what this task expects; a bug, not retried.
pub const INVALID_INPUT: &str = "InvalidInput";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFailure {
    pub error: &'static str,
    pub cause: String,
}

impl TaskFailure {
    pub fn new(error: &'static str, cause: impl Into<String>) -> Self {
        TaskFailure {
            error,
            cause: cause.into(),
        }
    }
}

/// The default naming of domain errors: server errors are transient, a refused change means the
/// order moved on, anything else is bad input.
impl From<AppError> for TaskFailure {
    fn from(err: AppError) -> Self {
        let error = match err.status() {
            500.. => TRANSIENT,
            409 => ORDER_CLOSED,
            _ => INVALID_INPUT,
        };
        TaskFailure::new(error, err.message())
    }
}

impl From<TaskFailure> for Diagnostic {
    fn from(f: TaskFailure) -> Self {
        Diagnostic {
            error_type: f.error.to_owned(),
            error_message: f.cause,
        }
    }
}

impl std::fmt::Display for TaskFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.cause)
    }
}

impl std::error::Error for TaskFailure {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_errors_get_workflow_error_names() {
        assert_eq!(
            TaskFailure::from(AppError::internal("db down")).error,
            TRANSIENT
        );
        assert_eq!(
            TaskFailure::from(AppError::conflict("closed")).error,
            ORDER_CLOSED
        );
        assert_eq!(
            TaskFailure::from(AppError::bad_request("x")).error,
            INVALID_INPUT
        );
        let d: Diagnostic = TaskFailure::new(PAYMENT_DECLINED, "card declined").into();
        assert_eq!(
            (d.error_type.as_str(), d.error_message.as_str()),
            ("PaymentDeclined", "card declined")
        );
    }
}
