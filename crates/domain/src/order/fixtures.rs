//! Orders in the states the tests of both modules start from.

use super::*;
use crate::identity::Caller;

pub(super) fn customer() -> Caller {
    Caller::new("cust-1", vec![])
}

pub(super) fn admin() -> Caller {
    Caller::new("barista-1", vec!["admin".into()])
}

pub(super) fn latte() -> DrinkOrder {
    DrinkOrder {
        drink: "Latte".into(),
        icon: "latte".into(),
        modifiers: vec!["Oat".into()],
    }
}

pub(super) fn waiting_for_drink() -> Order {
    let mut o = Order::new("o1", "cust-1", 1);
    OrderCommand::AwaitCustomer {
        task_token: "t1".into(),
    }
    .apply(&mut o, 2)
    .unwrap();
    o
}

pub(super) fn with_barista() -> Order {
    let mut o = waiting_for_drink();
    OrderCommand::ChooseDrink {
        caller: customer(),
        drink: latte(),
    }
    .apply(&mut o, 3)
    .unwrap();
    OrderCommand::AwaitBarista {
        task_token: "t2".into(),
        order_number: 7,
    }
    .apply(&mut o, 4)
    .unwrap();
    o
}

pub(super) fn paid(o: &mut Order) {
    OrderCommand::RecordPayment {
        payment: Payment {
            charge_id: "ch".into(),
            amount: 450,
            refunded: false,
        },
    }
    .apply(o, 5)
    .unwrap();
}
