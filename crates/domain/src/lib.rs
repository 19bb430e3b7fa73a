//! The coffee-order domain: pure types and rules, no AWS and no I/O.
//!
//! Everything a handler decides (who may do what to which order, whether a drink choice is on
//! the menu, which QR bucket is current, which business day an order number belongs to, what
//! an event looks like on the bus) lives here, so it can be unit-tested without a database
//! and reused unchanged by the Lambda functions and the local stack.

pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod error;
pub mod events;
pub mod identity;
pub mod ids;
pub mod lifecycle;
pub mod menu;
pub mod numbering;
pub mod order;
pub mod orders_api;
pub mod ports;
pub mod qr;
pub mod realtime;
pub mod seed;

pub use error::AppError;
pub use identity::Caller;
pub use ids::{OrderId, QrCode};
