//! The payment provider used until a real one is configured: deterministic, no network, the
//! same rules in AWS, in the local stack and in tests.
//!
//! Rules (like a card processor's test mode):
//! * card `4000000000000002` is declined ("card declined");
//! * card `4000000000000119` fails as a processing error (the provider is "down": retried by the
//!   workflow, then the order fails);
//! * an amount above [`LocalPaymentProvider::limit_cents`] (default 50.00) is declined;
//! * anything else is charged, with charge id `ch_local_<idempotency key>`, so a repeated
//!   charge for the same order is the same charge (idempotent by construction);
//! * a charge made with card `4000000000005126` cannot be refunded: every refund of it fails
//!   as a processing error (the workflow retries, then parks the refund for an operator);
//!   other refunds succeed.

use domain::AppError;
use domain::ports::{Charge, PaymentError, PaymentProvider};

pub const DECLINED_CARD: &str = "4000000000000002";
pub const PROCESSING_ERROR_CARD: &str = "4000000000000119";
pub const REFUND_FAILS_CARD: &str = "4000000000005126";

/// Charges of [`REFUND_FAILS_CARD`] carry this in their id, so that the refund (which gets
/// only the charge) knows it must fail.
const NO_REFUND: &str = "ch_local_norefund_";

#[derive(Debug, Clone, Copy)]
pub struct LocalPaymentProvider {
    pub limit_cents: u64,
}

impl Default for LocalPaymentProvider {
    fn default() -> Self {
        LocalPaymentProvider { limit_cents: 5_000 }
    }
}

impl PaymentProvider for LocalPaymentProvider {
    async fn charge(
        &self,
        idempotency_key: &str,
        amount: u64,
        card: Option<&str>,
    ) -> Result<Charge, PaymentError> {
        match card {
            Some(DECLINED_CARD) => return Err(PaymentError::Declined("card declined".to_owned())),
            Some(PROCESSING_ERROR_CARD) => {
                return Err(PaymentError::Unavailable(AppError::internal(
                    "the payment processor could not be reached",
                )));
            }
            _ => {}
        }
        if amount > self.limit_cents {
            return Err(PaymentError::Declined(format!(
                "amount {}.{:02} exceeds the limit of {}.{:02}",
                amount / 100,
                amount % 100,
                self.limit_cents / 100,
                self.limit_cents % 100
            )));
        }
        let charge_id = match card {
            Some(REFUND_FAILS_CARD) => format!("{NO_REFUND}{idempotency_key}"),
            _ => format!("ch_local_{idempotency_key}"),
        };
        Ok(Charge { charge_id, amount })
    }

    async fn refund(&self, _idempotency_key: &str, charge: &Charge) -> Result<(), PaymentError> {
        if charge.charge_id.starts_with(NO_REFUND) {
            return Err(PaymentError::Unavailable(AppError::internal(
                "the payment processor could not refund the charge",
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let mut f = std::pin::pin!(f);
        loop {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    #[test]
    fn the_documented_rules_hold() {
        let p = LocalPaymentProvider::default();
        let ok = block_on(p.charge("o1", 450, None)).unwrap();
        assert_eq!(
            ok,
            Charge {
                charge_id: "ch_local_o1".into(),
                amount: 450
            }
        );
        assert_eq!(
            block_on(p.charge("o1", 450, Some("4242424242424242"))).unwrap(),
            ok,
            "same key, same charge"
        );
        assert_eq!(
            block_on(p.charge("o2", 450, Some(DECLINED_CARD))),
            Err(PaymentError::Declined("card declined".into()))
        );
        assert!(matches!(
            block_on(p.charge("o3", 450, Some(PROCESSING_ERROR_CARD))),
            Err(PaymentError::Unavailable(_))
        ));
        assert_eq!(
            block_on(p.charge("o4", 5_001, None)),
            Err(PaymentError::Declined(
                "amount 50.01 exceeds the limit of 50.00".into()
            ))
        );
        assert!(block_on(p.charge("o5", 5_000, None)).is_ok());
        assert!(block_on(p.refund("o1", &ok)).is_ok());
        let stuck = block_on(p.charge("o6", 450, Some(REFUND_FAILS_CARD))).unwrap();
        assert!(matches!(
            block_on(p.refund("o6", &stuck)),
            Err(PaymentError::Unavailable(_))
        ));
    }
}
