//! Process sizes: the memory and CPU limits of one process type, as `paas ps:resize` sets them
//! (`web=1024` for 1024 MiB, `web=1024:0.5` for 1024 MiB and half a CPU).

use serde::{Deserialize, Serialize};

/// Smallest and largest memory limit a process may be given, MiB (as `Memory`'s message says).
pub const MEMORY_MB_RANGE: (u32, u32) = (64, 65_536);
/// Smallest and largest CPU limit, in thousandths of a CPU.
pub const CPU_MILLIS_RANGE: (u32, u32) = (10, 64_000);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessSize {
    pub memory_mb: u32,
    /// Thousandths of a CPU (1000 = one CPU).
    pub cpu_millis: u32,
}

impl ProcessSize {
    /// A short stable name, e.g. `1024m500c`, used to tell processes of different sizes apart.
    pub fn key(&self) -> String {
        format!("{}m{}c", self.memory_mb, self.cpu_millis)
    }

    /// Checks both limits are within range.
    pub fn validate(&self) -> Result<(), ProcessSizeError> {
        let (min_mem, max_mem) = MEMORY_MB_RANGE;
        if !(min_mem..=max_mem).contains(&self.memory_mb) {
            return Err(ProcessSizeError::Memory(self.memory_mb));
        }
        let (min_cpu, max_cpu) = CPU_MILLIS_RANGE;
        if !(min_cpu..=max_cpu).contains(&self.cpu_millis) {
            return Err(ProcessSizeError::Cpu(self.cpu_millis));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessSizeError {
    #[error("{0:?} is not TYPE=MEMORY or TYPE=MEMORY:CPUS (e.g. web=1024 or web=1024:0.5)")]
    Syntax(String),
    #[error("memory must be between 64 and 65536 MiB, not {0}")]
    Memory(u32),
    #[error("CPUs must be between 0.01 and 64, not {}", *.0 as f64 / 1000.0)]
    Cpu(u32),
    #[error("{0:?} is not a process type (letters, digits, - and _)")]
    ProcessType(String),
}

/// Whether `name` can be a Procfile process type.
pub fn valid_process_type(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Parses one `TYPE=MEMORY[:CPUS]` argument; CPUs default to `default_cpu_millis`.
pub fn parse_resize(
    arg: &str,
    default_cpu_millis: u32,
) -> Result<(String, ProcessSize), ProcessSizeError> {
    let syntax = || ProcessSizeError::Syntax(arg.to_string());
    let (process_type, size) = arg.split_once('=').ok_or_else(syntax)?;
    if !valid_process_type(process_type) {
        return Err(ProcessSizeError::ProcessType(process_type.to_string()));
    }
    let (memory, cpus) = match size.split_once(':') {
        Some((memory, cpus)) => (memory, Some(cpus)),
        None => (size, None),
    };
    let memory_mb: u32 = memory
        .trim_end_matches(['M', 'm'])
        .parse()
        .map_err(|_| syntax())?;
    let cpu_millis = match cpus {
        None => default_cpu_millis,
        Some(cpus) => {
            let value: f64 = cpus.parse().map_err(|_| syntax())?;
            if !value.is_finite() || value <= 0.0 {
                return Err(syntax());
            }
            (value * 1000.0).round().min(f64::from(u32::MAX)) as u32
        }
    };
    let size = ProcessSize {
        memory_mb,
        cpu_millis,
    };
    size.validate()?;
    Ok((process_type.to_string(), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_memory_and_cpus() {
        assert_eq!(
            parse_resize("web=1024", 1000),
            Ok((
                "web".to_string(),
                ProcessSize {
                    memory_mb: 1024,
                    cpu_millis: 1000
                }
            ))
        );
        let (_, size) = parse_resize("worker=256:0.5", 1000).unwrap();
        assert_eq!((size.memory_mb, size.cpu_millis), (256, 500));
        assert_eq!(size.key(), "256m500c");
        assert_eq!(parse_resize("web=512M", 250).unwrap().1.cpu_millis, 250);
    }

    #[test]
    fn refuses_bad_input() {
        for bad in [
            "web",
            "web=",
            "web=big",
            "=512",
            "web=512:",
            "web=512:x",
            "web=512:-1",
            "web=512:0",
            "web=512:nan",
            "web=512:inf",
            "web=10",
            "web=999999",
            "web=512:100",
            "w b=512",
        ] {
            assert!(parse_resize(bad, 1000).is_err(), "{bad}");
        }
    }
}
