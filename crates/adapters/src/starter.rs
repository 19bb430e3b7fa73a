//! Starting the order workflow on Step Functions (owned by the sqs-poller work; placeholder).
