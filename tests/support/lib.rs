//! Helpers shared by the end-to-end test binaries: where the repository is, and how to run
//! the real Python clients from the venv that the README's test command prepares.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root, found at run time from the package directory cargo gives the test
/// process (not the one this library was compiled in: a build cached from a clone elsewhere
/// would name that clone).
pub fn repo_root() -> PathBuf {
    let package = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    package
        .ancestors()
        .find(|p| p.join("schemas").is_dir() && p.join("Cargo.lock").is_file())
        .map(Path::to_path_buf)
        .expect("the test runs inside the repository")
}

/// The `schemas/` directory of the repository.
pub fn schemas_dir() -> PathBuf {
    repo_root().join("schemas")
}

/// The Python interpreter of the test venv (`ZHIJIAN_PYTHON`, set by `scripts/test`).
///
/// Panics with instructions when it is not set: these tests are judged by real clients and
/// must not pass by skipping them.
pub fn python() -> Command {
    let python = std::env::var_os("ZHIJIAN_PYTHON").unwrap_or_else(|| {
        panic!("ZHIJIAN_PYTHON is not set: run the suite with scripts/test, which prepares the Python venv")
    });
    Command::new(python)
}

/// Runs a Python snippet with arguments; panics with its stderr when it fails.
pub fn run_python(code: &str, args: &[&Path]) -> Output {
    let output = python()
        .arg("-c")
        .arg(code)
        .args(args)
        .output()
        .expect("the venv python starts");
    assert!(
        output.status.success(),
        "python failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Copies a directory tree (fixtures, `schemas/`, a raw corpus to change in a test).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create target directory");
    for entry in std::fs::read_dir(from).expect("read source directory") {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// What `frictionless validate --json` said about one task (one file).
#[derive(Debug)]
pub struct Verdict {
    /// The file or resource validated.
    pub place: String,
    /// Whether Frictionless found it valid.
    pub valid: bool,
    /// Its error messages.
    pub errors: Vec<String>,
}

/// Runs the official `frictionless validate` CLI over files and returns one verdict per task.
pub fn frictionless_validate(kind: Option<&str>, sources: &[PathBuf], cwd: &Path) -> Vec<Verdict> {
    let mut cmd = python();
    cmd.current_dir(cwd)
        .args(["-m", "frictionless", "validate", "--json"]);
    if let Some(kind) = kind {
        cmd.args(["--type", kind]);
    }
    let output = cmd.args(sources).output().expect("frictionless runs");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "frictionless printed no JSON report ({e}):\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let tasks = report["tasks"].as_array().cloned().unwrap_or_default();
    assert!(
        !tasks.is_empty(),
        "frictionless validated nothing: {report}"
    );
    let mut verdicts: Vec<Verdict> = tasks
        .iter()
        .map(|t| Verdict {
            place: t["place"].as_str().unwrap_or_default().to_owned(),
            valid: t["valid"].as_bool().unwrap_or(false),
            errors: t["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
                .collect(),
        })
        .collect();
    // Errors of the report itself (a source that could not be opened) count as a failure.
    for e in report["errors"].as_array().into_iter().flatten() {
        verdicts.push(Verdict {
            place: "(report)".into(),
            valid: false,
            errors: vec![e["message"].as_str().unwrap_or_default().to_owned()],
        });
    }
    verdicts
}

/// Percent-encodes a query-string value (everything but unreserved ASCII).
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A response read by [`http`].
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == &name.to_ascii_lowercase())
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A plain HTTP/1.1 GET over a real TCP connection (no client library between the test and
/// the server): `Connection: close`, chunked bodies de-chunked, no compression asked for.
pub fn http(addr: std::net::SocketAddr, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
    request(addr, "GET", path, headers, &[])
}

/// A POST with a JSON body, as [`http`].
pub fn post_json(addr: std::net::SocketAddr, path: &str, body: &serde_json::Value) -> HttpResponse {
    let bytes = serde_json::to_vec(body).expect("json");
    request(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/json")],
        &bytes,
    )
}

/// One HTTP/1.1 request over a new connection.
pub fn request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the server");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(120)))
        .expect("timeout");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    // The server may answer (413, 431) before reading a large body: a failed write is fine.
    let _ = stream.write_all(&bytes);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
                panic!("truncated chunked body");
            };
            let size_text = String::from_utf8_lossy(&rest[..eol]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .expect("chunk size");
            rest = &rest[eol + 2..];
            if size == 0 {
                break;
            }
            assert!(rest.len() >= size + 2, "truncated chunk");
            out.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
        body = out;
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

/// A free port on loopback (bound, then released for the process or service that takes it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A child process, killed and reaped on drop (a failing test leaves nothing running).
pub struct Running {
    /// The process.
    pub child: std::process::Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `zhijian serve` process on a free loopback port; killed on drop.
pub struct Server {
    /// The process.
    pub process: Running,
    /// Where it listens.
    pub addr: std::net::SocketAddr,
}

/// Starts `command serve ARGS --addr <free port>` and waits (up to two minutes) until
/// `/readyz` says its snapshot index is ready.
pub fn serve(mut command: Command, args: &[&str]) -> Server {
    use std::time::{Duration, Instant};
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let child = command
        .arg("serve")
        .args(args)
        .args(["--addr", &addr.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve");
    let server = Server {
        process: Running { child },
        addr,
    };
    let started = Instant::now();
    loop {
        if std::net::TcpStream::connect(addr).is_ok() {
            let r = http(addr, "/readyz", &[]);
            if r.status == 200 && r.json()["index"]["state"] == "ready" {
                return server;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{addr} not ready"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Files under `dir` at any depth (0 when it does not exist): what a process wrote there.
pub fn files_under(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .map(|e| {
                let p = e.path();
                if p.is_dir() { files_under(&p) } else { 1 }
            })
            .sum()
    })
}
