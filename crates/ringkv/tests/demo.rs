//! `ringkv demo`: one command starts a working local cluster, and Ctrl-C stops all of it.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use redis::Commands;

/// A first port such that it, the next two, and the three cluster ports are all free.
fn free_port_run() -> u16 {
    let base = 20000 + (std::process::id() % 1000) as u16 * 10;
    (0..500)
        .map(|i| base + i * 3)
        .find(|&p| {
            (0..3).all(|i| {
                TcpListener::bind(("127.0.0.1", p + i)).is_ok()
                    && TcpListener::bind(("127.0.0.1", p + i + 10000)).is_ok()
            })
        })
        .expect("no free ports")
}

#[test]
fn demo_starts_a_usable_cluster_and_ctrl_c_stops_every_node() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port_run();
    let mut demo = Command::new(env!("CARGO_BIN_EXE_ringkv"))
        .args(["demo", "--nodes", "3", "--port", &port.to_string(), "--dir"])
        .arg(tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(demo.stdout.take().unwrap());
    let mut printed = String::new();
    while !printed.contains("Ctrl-C") {
        assert!(
            out.read_line(&mut printed).unwrap() > 0,
            "demo ended early: {printed}"
        );
    }
    assert!(
        printed.contains(&format!("redis-cli -c -p {port}")),
        "{printed}"
    );

    let urls: Vec<String> = (0..3)
        .map(|i| format!("redis://127.0.0.1:{}/", port + i))
        .collect();
    let client = redis::cluster::ClusterClientBuilder::new(urls)
        .retries(30)
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut con = loop {
        match client.get_connection() {
            Ok(con) => break con,
            Err(e) => assert!(Instant::now() < deadline, "no cluster connection: {e}"),
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    for i in 0..20 {
        let _: () = con.set(format!("demo:{i}"), i).unwrap();
    }
    let back: i64 = con.get("demo:7").unwrap();
    assert_eq!(back, 7);

    kill(Pid::from_raw(demo.id() as i32), Signal::SIGINT).unwrap();
    let status = demo.wait().unwrap();
    assert!(status.success(), "demo exited with {status}");
    for i in 0..3 {
        assert!(
            TcpStream::connect(("127.0.0.1", port + i)).is_err(),
            "node on port {} still running",
            port + i
        );
    }
}
