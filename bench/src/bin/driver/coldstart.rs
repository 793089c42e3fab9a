//! `coldstart`: process start (or a Lambda function behind an emulator) to the first `200`.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::secret::random_id;

fn free_addr() -> Result<SocketAddr, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    shared::store::create_private_dir(to).map_err(|e| e.to_string())?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let target = to.join(entry.file_name());
        if entry.file_type().map_err(|e| e.to_string())?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target).map_err(|e| format!("copy: {e}"))?;
        }
    }
    Ok(())
}

/// One HTTP/1.1 GET; `true` on a `200`.
fn answers_200(addr: SocketAddr, path: &str) -> bool {
    answers_200_within(addr, path, Duration::from_secs(2))
}

fn answers_200_within(addr: SocketAddr, path: &str, wait: Duration) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(wait));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

pub(crate) fn coldstart(
    runs: usize,
    path: &str,
    template: Option<&Path>,
    via: Option<SocketAddr>,
    command: &[String],
) -> Result<Value, String> {
    let (program, args) = command.split_first().ok_or("no command")?;
    let scratch = std::env::temp_dir().join(format!("bench-coldstart-{}", random_id()));
    let mut samples = Vec::with_capacity(runs);
    for run in 0..runs {
        let addr = free_addr()?;
        let data = scratch.join(run.to_string());
        if let Some(template) = template {
            copy_dir(template, &data)?;
        }
        let args: Vec<String> = args
            .iter()
            .map(|a| {
                a.replace("{addr}", &addr.to_string())
                    .replace("{data}", &data.display().to_string())
            })
            .collect();
        let started = Instant::now();
        let mut child = Command::new(program)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{program}: {e}"))?;
        let up = if let Some(emulator) = via {
            answers_200_within(emulator, path, Duration::from_secs(10)).then(|| started.elapsed())
        } else {
            loop {
                if answers_200(addr, path) {
                    break Some(started.elapsed());
                }
                if started.elapsed() > Duration::from_secs(10)
                    || matches!(child.try_wait(), Ok(Some(_)))
                {
                    break None;
                }
                std::thread::sleep(Duration::from_micros(100));
            }
        };
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&data);
        let up = up.ok_or_else(|| format!("{program} did not answer 200 on {path} within 10 s"))?;
        samples.push(up.as_secs_f64() * 1000.0);
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let mut sorted = samples.clone();
    sorted.sort_by(f64::total_cmp);
    let median = match sorted.len() {
        0 => return Err("no runs".into()),
        n if n % 2 == 1 => sorted.get(n / 2).copied().unwrap_or_default(),
        n => {
            let a = sorted.get(n / 2 - 1).copied().unwrap_or_default();
            let b = sorted.get(n / 2).copied().unwrap_or_default();
            (a + b) / 2.0
        }
    };
    Ok(json!({
        "runs": runs,
        "median_ms": median,
        "min_ms": sorted.first(),
        "max_ms": sorted.last(),
        "samples_ms": samples,
    }))
}
