//! Run with: `cargo run --example service` (sandbox default) or `EVENT_BUS=kafak cargo run --example service`
//! to see a bad configuration refused before the service starts.
// readme-example:start
fn main() -> Result<(), Box<dyn std::error::Error>> {
    // One resolved mode for the whole service: AVB_ENV / AVB_DEV_MODE / EVENT_BUS=… / .env.<mode>.
    // Fails closed: sandbox-only backends in production, missing settings and typos are errors here.
    let config = avb::from_env()?;
    println!("{config}"); // the startup summary; secrets are redacted
    if config.mode == avb::config::Mode::Sandbox {
        println!("running offline on the sandbox backends");
    }
    Ok(())
}
// readme-example:end
