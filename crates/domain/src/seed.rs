//! The config-table rows a fresh stack starts with: the shop open, and the menu.
//!
//! One copy for every place that seeds a stack: the local stack writes these rows when it
//! creates its tables, and the config function writes them when CloudFormation creates the
//! `ConfigSeed` custom resource in AWS. Both only write rows that are absent, so an admin's
//! later change survives a restart or a stack update.

use crate::AppError;
use serde_json::Value;

const CONFIG_SEED_JSON: &str = include_str!("../seed/config.json");

/// The seed rows, each a JSON object with a string `PK`.
pub fn config_rows() -> Result<Vec<Value>, AppError> {
    let rows: Vec<Value> = serde_json::from_str(CONFIG_SEED_JSON)
        .map_err(|e| AppError::internal(format!("The config seed is not valid JSON: {e}")))?;
    if let Some(bad) = rows
        .iter()
        .find(|r| r.get("PK").and_then(Value::as_str).is_none())
    {
        return Err(AppError::internal(format!(
            "A config seed row has no string PK: {bad}"
        )));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::menu::MenuItem;
    use crate::ports::ShopConfig;

    #[test]
    fn the_seed_holds_an_open_shop_and_a_menu_the_domain_reads() {
        let rows = config_rows().unwrap();
        let pks: Vec<&str> = rows.iter().filter_map(|r| r["PK"].as_str()).collect();
        assert_eq!(pks, ["config", "menu"]);
        let shop: ShopConfig = serde_json::from_value(rows[0].clone()).unwrap();
        assert!(shop.store_open);
        let menu: Vec<MenuItem> = serde_json::from_value(rows[1]["value"].clone()).unwrap();
        assert!(menu.iter().any(|d| d.drink == "Espresso"));
    }
}
