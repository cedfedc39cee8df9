//! The startup summary's lines, shared by the facade's `Config` and any port resolved alone. Secrets are
//! redacted by their types (every port's `Display` shows a [`Secret`](super::Secret) as `***`).

use super::{Environment, Mode, Resolution, Source};
use std::fmt;

fn source(s: &Source, default: &str) -> String {
    match s {
        Source::Default => default.to_string(),
        Source::Variable { name } => format!("set by {name}"),
        Source::File { name, file } => format!("set by {name} in {file}"),
    }
}

/// Writes the summary: [`Rows::header`], one [`Rows::port`] per port, then [`Rows::footer`].
pub struct Rows<'a, 'f> {
    f: &'a mut fmt::Formatter<'f>,
    resolution: &'a Resolution,
}

impl<'a, 'f> Rows<'a, 'f> {
    /// Starts the summary with its title, environment and mode lines.
    pub fn header(
        f: &'a mut fmt::Formatter<'f>,
        resolution: &'a Resolution,
    ) -> Result<Self, fmt::Error> {
        let mode_default = if resolution.mode == Mode::Live
            && resolution.environment != Environment::Development
        {
            format!("always live in {}", resolution.environment)
        } else {
            "default".to_string()
        };
        writeln!(f, "avb configuration")?;
        writeln!(
            f,
            "  environment   {:<60} ({})",
            resolution.environment.to_string(),
            source(&resolution.environment_source, "default")
        )?;
        writeln!(
            f,
            "  mode          {:<60} ({})",
            resolution.mode.to_string(),
            source(&resolution.mode_source, &mode_default)
        )?;
        Ok(Self { f, resolution })
    }

    /// One port's line: `label`, its backend with settings, and what chose it.
    pub fn port(
        &mut self,
        label: &str,
        backend: &dyn fmt::Display,
        chosen_by: &Source,
    ) -> fmt::Result {
        let port_default = format!("{} default", self.resolution.mode);
        writeln!(
            self.f,
            "  {label:<13} {:<60} ({})",
            backend.to_string(),
            source(chosen_by, &port_default)
        )
    }

    /// The env file and ignored variables.
    pub fn footer(self) -> fmt::Result {
        if let Some(file) = &self.resolution.env_file {
            writeln!(
                self.f,
                "  env file      {file} (the process environment wins over it)"
            )?;
        }
        for i in &self.resolution.ignored {
            writeln!(
                self.f,
                "  ignored       {}={:?}: {}",
                i.key, i.value, i.reason
            )?;
        }
        Ok(())
    }
}
