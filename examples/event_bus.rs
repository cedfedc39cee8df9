//! Run with: cargo run --example event_bus
//!
//! Resolves the configuration from the environment (sandbox default: `EVENT_BUS=memory`), builds the bus
//! the configuration selects, and shows a round trip, fan-out to two groups, a nack with redelivery and
//! the dead-letter topic. With `EVENT_BUS=redis REDIS_URL=redis://127.0.0.1:16379` and
//! `--features event-bus-redis` the same program runs against Redis Streams, unchanged.

use avb::event_bus::{HEADER_LAST_ERROR, Message, StartPosition, Topic, WorkspaceId};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = avb::from_env()?;
    let bus = avb::event_bus::open(&config.event_bus.backend).await?;
    println!(
        "event bus: {} ({:?})",
        bus.backend(),
        bus.health().await.status
    );
    println!("capabilities: {:?}", bus.capabilities());

    let workspace = WorkspaceId::new("example")?;
    let topic = Topic::new(&workspace, format!("orders-{}", std::process::id()))?;
    let mut billing = bus
        .subscribe(&topic, "billing", StartPosition::Earliest)
        .await?;
    let mut shipping = bus
        .subscribe(&topic, "shipping", StartPosition::Earliest)
        .await?;
    let mut dead = bus
        .subscribe(&topic.dead_letter(), "ops", StartPosition::Earliest)
        .await?;

    let order = Message::new(&b"{\"order\": 1}"[..])
        .with_key("customer-7")
        .with_header(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        );
    bus.publish(&topic, order).await?;

    // Fan-out: both groups get the order.
    let d = billing.next().await.ok_or("closed")??;
    println!(
        "billing got {:?} (attempt {})",
        d.message().payload,
        d.attempt()
    );
    d.ack().await?;

    // Shipping fails until the message is dead-lettered (max_attempts = 5 by default).
    loop {
        let d = shipping.next().await.ok_or("closed")??;
        println!("shipping attempt {} fails", d.attempt());
        d.nack(Duration::ZERO, "warehouse offline").await?;
        if d.attempt() >= 5 {
            break;
        }
    }
    let d = dead.next().await.ok_or("closed")??;
    println!(
        "dead-lettered: {:?}, last error {:?}",
        d.message().payload,
        d.message().headers.get(HEADER_LAST_ERROR)
    );
    d.ack().await?;
    bus.close().await?;
    Ok(())
}
