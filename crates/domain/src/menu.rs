//! The menu (stored in the config table under `PK = "menu"`) and the rules a customer's drink
//! choice must satisfy. The icon comes from the menu, never from the request.

use crate::AppError;
use crate::order::DrinkOrder;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModifierGroup {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Options")]
    pub options: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuItem {
    pub drink: String,
    pub icon: String,
    #[serde(default = "available_by_default")]
    pub available: bool,
    #[serde(default)]
    pub modifiers: Vec<ModifierGroup>,
}

fn available_by_default() -> bool {
    true
}

/// The customer's request body for `PUT /orders/{id}`. `userId` (sent by the original app) and
/// `icon` are accepted and ignored: identity comes from the token and the icon from the menu.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DrinkChoice {
    pub drink: String,
    #[serde(default)]
    pub modifiers: Vec<String>,
}

/// Checks a choice against the menu and returns the drink order to store.
///
/// Rules: the drink exists and is available; every modifier is an option of one of that drink's
/// modifier groups; a modifier is not repeated; at most one option is taken from each group
/// (one milk, not "Regular" and "Oat").
pub fn validate_choice(menu: &[MenuItem], choice: &DrinkChoice) -> Result<DrinkOrder, AppError> {
    let invalid = |why: String| AppError::bad_request(format!("Order is not valid: {why}"));
    let item = menu
        .iter()
        .find(|m| m.drink == choice.drink)
        .ok_or_else(|| invalid(format!("'{}' is not on the menu", choice.drink)))?;
    if !item.available {
        return Err(invalid(format!(
            "'{}' is not available right now",
            item.drink
        )));
    }
    let mut used_groups: Vec<&str> = Vec::new();
    for (i, modifier) in choice.modifiers.iter().enumerate() {
        if choice.modifiers[..i].contains(modifier) {
            return Err(invalid(format!("modifier '{modifier}' is repeated")));
        }
        let group = item
            .modifiers
            .iter()
            .find(|g| g.options.iter().any(|o| o == modifier))
            .ok_or_else(|| invalid(format!("'{modifier}' is not an option for {}", item.drink)))?;
        if used_groups.contains(&group.name.as_str()) {
            return Err(invalid(format!(
                "only one {} option can be chosen",
                group.name
            )));
        }
        used_groups.push(&group.name);
    }
    Ok(DrinkOrder {
        drink: item.drink.clone(),
        icon: item.icon.clone(),
        modifiers: choice.modifiers.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn menu() -> Vec<MenuItem> {
        serde_json::from_value(serde_json::json!([
            {"drink": "Latte", "icon": "latte-icon", "available": true, "modifiers": [
                {"Name": "Milk", "Options": ["Regular", "Oat"]},
                {"Name": "Syrup", "Options": ["Vanilla", "Caramel"]}
            ]},
            {"drink": "Espresso", "icon": "espresso-icon"},
            {"drink": "Mocha", "icon": "mocha-icon", "available": false, "modifiers": []}
        ]))
        .unwrap()
    }
    fn choice(drink: &str, modifiers: &[&str]) -> DrinkChoice {
        DrinkChoice {
            drink: drink.into(),
            modifiers: modifiers.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_valid_choice_takes_its_icon_from_the_menu() {
        let d = validate_choice(&menu(), &choice("Latte", &["Oat", "Vanilla"])).unwrap();
        assert_eq!(d.icon, "latte-icon");
        assert_eq!(d.modifiers, ["Oat", "Vanilla"]);
        // `available` defaults to true when the menu item omits it.
        assert!(validate_choice(&menu(), &choice("Espresso", &[])).is_ok());
    }

    #[test]
    fn off_menu_unavailable_and_foreign_modifiers_are_rejected() {
        let cases = [
            (choice("Frappe", &[]), "not on the menu"),
            (choice("latte", &[]), "not on the menu"),
            (choice("Mocha", &[]), "not available"),
            (choice("Espresso", &["Oat"]), "not an option for Espresso"),
            (choice("Latte", &["Soy"]), "not an option for Latte"),
            (choice("Latte", &["Oat", "Oat"]), "repeated"),
            (choice("Latte", &["Oat", "Regular"]), "only one Milk option"),
        ];
        for (c, why) in cases {
            let err = validate_choice(&menu(), &c).unwrap_err();
            assert_eq!(err.status(), 400, "{c:?}");
            assert!(err.message().starts_with("Order is not valid"), "{err}");
            assert!(err.message().contains(why), "{c:?}: {err}");
        }
    }

    #[test]
    fn the_body_may_carry_user_id_and_icon_which_are_ignored() {
        let c: DrinkChoice = serde_json::from_value(serde_json::json!(
            {"userId": "someone-else", "drink": "Latte", "modifiers": ["Oat"], "icon": "evil"}
        ))
        .unwrap();
        assert_eq!(validate_choice(&menu(), &c).unwrap().icon, "latte-icon");
    }
}
