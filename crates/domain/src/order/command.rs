//! Every change to an existing order, with its precondition ([`OrderCommand::check`]) and its
//! effect ([`OrderCommand::apply`]).

use super::{DrinkOrder, Order, OrderState, REFUND_PENDING};
use crate::AppError;
use crate::identity::Caller;
use crate::lifecycle::Payment;

/// Every change that can be made to an existing order.
#[derive(Debug, Clone, PartialEq)]
pub enum OrderCommand {
    /// The customer picks a drink (`PUT /orders/{id}`).
    ChooseDrink { caller: Caller, drink: DrinkOrder },
    /// Takes back a drink choice whose workflow could not be resumed, so the customer can
    /// choose again (the workflow still waits on the same token).
    WithdrawDrink,
    /// A barista claims (`Some(sub)`) or releases (`None`) an order.
    Claim {
        caller: Caller,
        barista: Option<String>,
    },
    /// A barista completes the order.
    Complete { caller: Caller },
    /// The owner or an admin cancels the order.
    Cancel { caller: Caller },
    /// The workflow parks the order on a callback token (waiting for the customer's drink).
    AwaitCustomer { task_token: String },
    /// The workflow hands the order to the barista: its number and the barista callback token.
    AwaitBarista {
        task_token: String,
        order_number: u64,
    },
    /// The workflow numbered the order (a direct order accepted by the restaurant).
    RecordNumber { order_number: u64 },
    /// The workflow took the payment. Recorded even on an order that closed while it was
    /// being charged: the money moved, and the refund is decided from the row.
    RecordPayment { payment: Payment },
    /// The workflow refunded the payment.
    RecordRefund,
    /// The workflow ends the order (timeout, payment declined, shop closed, ...).
    Finish {
        to: OrderState,
        reason: Option<String>,
    },
}

impl OrderCommand {
    /// The precondition, with the message the caller gets when it does not hold.
    pub fn check(&self, order: &Order) -> Result<(), AppError> {
        match self {
            OrderCommand::ChooseDrink { caller, .. } => {
                if !order.is_owned_by(caller) {
                    return Err(AppError::forbidden(
                        "This order belongs to another customer",
                    ));
                }
                order.check_open()?;
                if order.drink_order.is_some() {
                    return Err(AppError::conflict(
                        "A drink has already been chosen for this order",
                    ));
                }
                if order.task_token.is_none() {
                    return Err(AppError::conflict("Workflow not ready yet."));
                }
                Ok(())
            }
            OrderCommand::WithdrawDrink => {
                order.check_open()?;
                if order.drink_order.is_none() {
                    return Err(AppError::conflict(
                        "No drink has been chosen for this order",
                    ));
                }
                Ok(())
            }
            OrderCommand::Claim { caller, .. } | OrderCommand::Complete { caller } => {
                caller.require_admin()?;
                order.check_with_barista()
            }
            OrderCommand::Cancel { caller } => {
                if !order.is_owned_by(caller) && !caller.is_admin() {
                    return Err(AppError::forbidden(
                        "Only the customer who placed the order or an admin can cancel it",
                    ));
                }
                order.check_open()
            }
            OrderCommand::AwaitCustomer { .. } => {
                order.check_open()?;
                if order.drink_order.is_some() {
                    return Err(AppError::conflict(
                        "A drink has already been chosen for this order",
                    ));
                }
                Ok(())
            }
            OrderCommand::AwaitBarista { .. } => {
                order.check_open()?;
                if order.drink_order.is_none() {
                    return Err(AppError::conflict(
                        "The order has no drink to send to the barista",
                    ));
                }
                Ok(())
            }
            OrderCommand::RecordNumber { .. } => order.check_open(),
            OrderCommand::RecordPayment { .. } => {
                if order.payment.is_some() {
                    return Err(AppError::conflict("The order is already paid"));
                }
                Ok(())
            }
            OrderCommand::RecordRefund => match &order.payment {
                Some(p) if !p.refunded => Ok(()),
                Some(_) => Err(AppError::conflict("The payment is already refunded")),
                None => Err(AppError::conflict("The order has no payment to refund")),
            },
            OrderCommand::Finish { to, .. } => order.state.transition(*to).map(|_| ()),
        }
    }

    /// Applies the change after `check` passed. `now_ms` becomes the order's `TS`.
    pub fn apply(&self, order: &mut Order, now_ms: i64) -> Result<(), AppError> {
        self.check(order)?;
        match self {
            OrderCommand::ChooseDrink { drink, .. } => {
                order.drink_order = Some(drink.clone());
            }
            OrderCommand::WithdrawDrink => order.drink_order = None,
            OrderCommand::Claim { barista, .. } => {
                order.barista_user_id = barista.clone();
            }
            OrderCommand::Complete { .. } => order.set_state(OrderState::Completed)?,
            OrderCommand::Cancel { caller } => {
                order.set_state(OrderState::Cancelled)?;
                order.reason = Some(if order.is_owned_by(caller) {
                    "Cancelled by customer".to_owned()
                } else {
                    "Cancelled by barista".to_owned()
                });
            }
            OrderCommand::AwaitCustomer { task_token } => {
                order.task_token = Some(task_token.clone());
            }
            OrderCommand::AwaitBarista {
                task_token,
                order_number,
            } => {
                order.task_token = Some(task_token.clone());
                order.order_number = Some(*order_number);
            }
            OrderCommand::RecordNumber { order_number } => order.order_number = Some(*order_number),
            OrderCommand::RecordPayment { payment } => order.payment = Some(payment.clone()),
            OrderCommand::RecordRefund => {
                if let Some(p) = &mut order.payment {
                    p.refunded = true;
                }
                // The reason said the refund was pending; it no longer is (`payment.refunded`
                // now says it was made).
                if let Some(r) = order
                    .reason
                    .as_mut()
                    .filter(|r| r.ends_with(REFUND_PENDING))
                {
                    r.truncate(r.len() - REFUND_PENDING.len());
                }
            }
            OrderCommand::Finish { to, reason } => {
                order.set_state(*to)?;
                order.reason = reason.clone();
            }
        }
        order.ts = now_ms;
        order.version += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::OrderStatus;
    use super::super::fixtures::*;
    use super::*;

    #[test]
    fn choosing_a_drink_needs_the_owner_an_open_order_and_a_waiting_workflow() {
        let cmd = |c: Caller| OrderCommand::ChooseDrink {
            caller: c,
            drink: latte(),
        };
        let fresh = Order::new("o1", "cust-1", 1);
        assert_eq!(
            cmd(customer()).check(&fresh).unwrap_err().message(),
            "Workflow not ready yet."
        );
        let o = waiting_for_drink();
        assert_eq!(
            cmd(Caller::new("someone-else", vec![]))
                .check(&o)
                .unwrap_err()
                .status(),
            403
        );
        let mut chosen = o.clone();
        cmd(customer()).apply(&mut chosen, 10).unwrap();
        assert_eq!(chosen.drink_order, Some(latte()));
        assert_eq!(chosen.ts, 10);
        assert_eq!(chosen.version, o.version + 1);
        assert_eq!(cmd(customer()).check(&chosen).unwrap_err().status(), 409);
    }

    #[test]
    fn a_withdrawn_drink_can_be_chosen_again_but_only_on_an_open_order() {
        let choose = OrderCommand::ChooseDrink {
            caller: customer(),
            drink: latte(),
        };
        let mut o = waiting_for_drink();
        assert_eq!(
            OrderCommand::WithdrawDrink.check(&o).unwrap_err().status(),
            409,
            "nothing to withdraw"
        );
        choose.apply(&mut o, 3).unwrap();
        OrderCommand::WithdrawDrink.apply(&mut o, 4).unwrap();
        assert_eq!((o.drink_order.as_ref(), o.ts), (None, 4));
        assert_eq!(
            o.task_token.as_deref(),
            Some("t1"),
            "the workflow still waits"
        );
        choose.apply(&mut o, 5).unwrap();
        let mut ended = o.clone();
        OrderCommand::Cancel { caller: customer() }
            .apply(&mut ended, 6)
            .unwrap();
        let before = ended.clone();
        assert_eq!(
            OrderCommand::WithdrawDrink
                .apply(&mut ended, 7)
                .unwrap_err()
                .status(),
            409
        );
        assert_eq!(ended, before);
    }

    #[test]
    fn barista_actions_need_admin_and_an_order_at_the_barista() {
        let o = waiting_for_drink();
        let complete = |c| OrderCommand::Complete { caller: c };
        assert_eq!(
            complete(customer())
                .check(&with_barista())
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(
            complete(admin()).check(&o).unwrap_err().message(),
            "The order has not reached the barista yet"
        );
        let mut done = with_barista();
        complete(admin()).apply(&mut done, 9).unwrap();
        assert_eq!(done.state, OrderState::Completed);
        assert_eq!(done.status, OrderStatus::Success);
        // A terminal order refuses every further change.
        for cmd in [
            complete(admin()),
            OrderCommand::Cancel { caller: admin() },
            OrderCommand::Claim {
                caller: admin(),
                barista: Some("b".into()),
            },
            OrderCommand::Finish {
                to: OrderState::Failed,
                reason: None,
            },
        ] {
            let before = done.clone();
            assert_eq!(cmd.apply(&mut done, 99).unwrap_err().status(), 409);
            assert_eq!(done, before, "a refused command must not change the order");
        }
    }

    #[test]
    fn claim_sets_and_clears_the_barista() {
        let mut o = with_barista();
        OrderCommand::Claim {
            caller: admin(),
            barista: Some("barista-1".into()),
        }
        .apply(&mut o, 5)
        .unwrap();
        assert_eq!(o.barista_user_id.as_deref(), Some("barista-1"));
        OrderCommand::Claim {
            caller: admin(),
            barista: None,
        }
        .apply(&mut o, 6)
        .unwrap();
        assert_eq!(o.barista_user_id, None);
        assert_eq!(o.state, OrderState::Created);
    }

    #[test]
    fn only_the_owner_or_an_admin_can_cancel() {
        let o = waiting_for_drink();
        let stranger = OrderCommand::Cancel {
            caller: Caller::new("cust-2", vec![]),
        };
        assert_eq!(stranger.check(&o).unwrap_err().status(), 403);
        let mut mine = o.clone();
        OrderCommand::Cancel { caller: customer() }
            .apply(&mut mine, 5)
            .unwrap();
        assert_eq!(mine.state, OrderState::Cancelled);
        assert_eq!(mine.reason.as_deref(), Some("Cancelled by customer"));
        let mut theirs = o;
        OrderCommand::Cancel { caller: admin() }
            .apply(&mut theirs, 5)
            .unwrap();
        assert_eq!(theirs.reason.as_deref(), Some("Cancelled by barista"));
    }

    #[test]
    fn a_charge_is_recorded_even_on_an_order_closed_meanwhile() {
        let mut o = waiting_for_drink();
        OrderCommand::Cancel { caller: customer() }
            .apply(&mut o, 3)
            .unwrap();
        paid(&mut o);
        assert!(o.refund_due());
        let again = OrderCommand::RecordPayment {
            payment: o.payment.clone().unwrap(),
        };
        assert_eq!(again.check(&o).unwrap_err().status(), 409);
    }

    #[test]
    fn workflow_cannot_hand_a_drinkless_order_to_the_barista() {
        let o = waiting_for_drink();
        let cmd = OrderCommand::AwaitBarista {
            task_token: "t".into(),
            order_number: 1,
        };
        assert_eq!(cmd.check(&o).unwrap_err().status(), 409);
    }
}
