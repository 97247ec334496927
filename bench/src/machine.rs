//! What the bench reads from the machine: the CPU time of the runtime's processes from
//! `/proc`, a description of the machine, and the sizes of the deployed artefacts.

use std::fs;
use std::io::Write;
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;

/// The machine the numbers were measured on.
#[derive(Debug, Clone)]
pub struct Machine {
    /// Logical CPUs available to this process (`nproc`).
    pub cpus: usize,
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: String,
    /// MemTotal from /proc/meminfo, in GiB.
    pub memory_gib: f64,
    /// 1-minute load average when the bench started (other work on the machine skews results).
    pub load_before: f64,
}

impl Machine {
    /// Reads the description from /proc.
    pub fn describe() -> Machine {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown".to_string());
        let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib: f64 = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            memory_gib: memory_kib / (1024.0 * 1024.0),
            load_before: load_average(),
        }
    }
}

/// The 1-minute load average.
pub fn load_average() -> f64 {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

/// CPU seconds the whole machine has been busy (all CPUs, everything but idle and iowait).
pub fn machine_busy_secs() -> f64 {
    let text = fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> = text
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let busy: u64 = ticks
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, t)| t)
        .sum();
    busy as f64 / clock_ticks_per_second()
}

/// CPU seconds this process (the load generator) has used.
pub fn own_cpu_secs() -> f64 {
    stat(std::process::id() as i32).map_or(0.0, |(_, _, _, t)| t as f64 / clock_ticks_per_second())
}

/// `(pid, process group, command name, utime + stime in clock ticks)` of a process.
fn stat(pid: i32) -> Option<(i32, i32, String, u64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may itself contain spaces or parentheses.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_string();
    let rest: Vec<&str> = text.get(close + 2..)?.split_whitespace().collect();
    // After the name: state(3) ppid(4) pgrp(5) ... utime(14) stime(15); rest[0] is field 3.
    let pgrp = rest.get(2)?.parse().ok()?;
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((pid, pgrp, comm, utime + stime))
}

fn all_pids() -> Vec<i32> {
    fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The processes of the `wrangler dev` that listens on `port`: its process group, found
/// through the workerd process whose command line names that port.
#[derive(Debug, Clone, Copy)]
pub struct Runtime {
    pgrp: i32,
}

/// CPU seconds of a runtime's processes (at one moment, or spent between two).
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuTimes {
    /// workerd processes (the Workers runtime: Worker, Durable Objects, D1, KV).
    pub workerd: f64,
    /// Every process of the group (wrangler's Node process too).
    pub group: f64,
}

impl std::ops::Add for CpuTimes {
    type Output = CpuTimes;

    fn add(self, other: CpuTimes) -> CpuTimes {
        CpuTimes {
            workerd: self.workerd + other.workerd,
            group: self.group + other.group,
        }
    }
}

impl std::ops::Sub for CpuTimes {
    type Output = CpuTimes;

    fn sub(self, earlier: CpuTimes) -> CpuTimes {
        CpuTimes {
            workerd: self.workerd - earlier.workerd,
            group: self.group - earlier.group,
        }
    }
}

impl Runtime {
    /// The runtime serving the harness server at `base` (`http://127.0.0.1:<port>`).
    pub fn of_base(base: &str) -> Result<Runtime, String> {
        let port: u16 = base
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| format!("no port in {base}"))?;
        Runtime::find(port)
            .ok_or_else(|| format!("no workerd process serving 127.0.0.1:{port} in /proc"))
    }

    /// Finds the runtime serving `127.0.0.1:port`.
    pub fn find(port: u16) -> Option<Runtime> {
        let needle = format!("127.0.0.1:{port}");
        all_pids().into_iter().find_map(|pid| {
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            let is_workerd = args.first()?.ends_with(b"workerd");
            let names_port = args
                .iter()
                .any(|a| String::from_utf8_lossy(a).ends_with(&needle));
            if !(is_workerd && names_port) {
                return None;
            }
            let (_, pgrp, _, _) = stat(pid)?;
            Some(Runtime { pgrp })
        })
    }

    /// CPU seconds used so far by the group's processes (those still running).
    pub fn cpu(&self) -> CpuTimes {
        let ticks = clock_ticks_per_second();
        let mut times = CpuTimes::default();
        for (_, pgrp, comm, t) in all_pids().into_iter().filter_map(stat) {
            if pgrp != self.pgrp {
                continue;
            }
            let secs = t as f64 / ticks;
            times.group += secs;
            if comm == "workerd" {
                times.workerd += secs;
            }
        }
        times
    }
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions; it returns -1 for an unknown name.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// Raw and gzip-compressed (default level) bytes of a file.
pub fn sizes(path: &Path) -> Result<(u64, u64), String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&bytes)
        .and_then(|()| gz.finish())
        .map(|z| (bytes.len() as u64, z.len() as u64))
        .map_err(|e| format!("cannot gzip {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_stat() {
        let (pid, _, comm, _) = stat(std::process::id() as i32).expect("own /proc stat");
        assert_eq!(pid, std::process::id() as i32);
        assert!(!comm.is_empty());
    }
}
