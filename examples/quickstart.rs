//! Run with: `cargo run --example quickstart` (sandbox default: in-memory bus and store), or
//! `EVENT_BUS=kafak cargo run --example quickstart` to see a bad configuration refused before anything starts
//! (`Error: invalid avb configuration: EVENT_BUS="kafak" is invalid: …`, exit code 1).
//! With `--features event-bus-redis,object-store-s3` and `EVENT_BUS=redis REDIS_URL=… OBJECT_STORE=s3 …` the same
//! program runs against Redis Streams and S3, unchanged. In a service of your own, `Cargo.toml` needs
//! `avb` with those features and `tokio = { version = "1", features = ["macros", "rt-multi-thread"] }` (the
//! README shows the lines).
// readme-example:start
use avb::event_bus::{Message, Topic};

#[tokio::main]
async fn main() -> Result<(), avb::MainError> {
    let config = avb::from_env()?; // one resolved mode; unsafe or bad settings fail here
    println!("{config}"); // the startup summary; secrets are redacted
    let ports = avb::Ports::open(config).await?; // each port built once from that mode
    let acme: avb::WorkspaceId = "acme".parse()?;
    let store = avb::object_store::for_workspace(ports.object_store().clone(), &acme);
    let key = "orders/1.json";
    store.put(key, "{}".into(), Default::default()).await?;
    let orders = Topic::new(&acme, "orders")?;
    let bus = ports.event_bus();
    bus.publish(&orders, Message::new(key)).await?;
    Ok(())
}
// readme-example:end
