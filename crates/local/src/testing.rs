//! A throwaway stack for tests: an in-memory embedded DynamoDB with the template's tables
//! (named by their logical ids) and the seed data, and the real DynamoDB adapters on it.

use crate::{EmbeddedDynamo, LocalError, table_specs, workspace_root};
use adapters::{ApiOrderTable, ConfigTable, CounterTable, OrderTable, SlotTable, ValidatorTable};

pub struct TestTables {
    pub dynamo: EmbeddedDynamo,
    pub orders: OrderTable,
    pub config: ConfigTable,
    pub counters: CounterTable,
    pub slots: SlotTable,
    pub validator: ValidatorTable,
    pub api_orders: ApiOrderTable,
}

impl TestTables {
    pub async fn start() -> Result<Self, LocalError> {
        let dynamo = EmbeddedDynamo::start_in_memory().await?;
        let template = std::fs::read_to_string(workspace_root().join("template.yaml"))?;
        dynamo
            .provision(&table_specs(&template)?, str::to_owned)
            .await?;
        let client = dynamo.client();
        Ok(TestTables {
            orders: OrderTable::new(client.clone(), "OrderTable"),
            config: ConfigTable::new(client.clone(), "ConfigTable"),
            counters: CounterTable::new(client.clone(), "CountingTable", "OrderTable"),
            slots: SlotTable::new(client.clone(), "CountingTable", "OrderTable"),
            validator: ValidatorTable::new(client.clone(), "ValidatorTable"),
            api_orders: ApiOrderTable::new(client, "OrdersApiTable"),
            dynamo,
        })
    }
}
