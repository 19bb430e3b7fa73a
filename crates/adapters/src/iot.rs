//! Realtime publishing on AWS IoT Core (owned by the publisher work; placeholder).
