//! Active expiry: keys that expire unread are deleted by the server itself, so key counts and
//! disk usage stay bounded without any client touching them.

mod common;

use std::time::{Duration, Instant};

use common::Node;
use rand::Rng;

fn info_field(con: &mut redis::Connection, section: &str, field: &str) -> u64 {
    let info: String = redis::cmd("INFO").arg(section).query(con).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("{field} missing from INFO {section}"))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn expired_keys_leave_dbsize_and_disk_without_reads() {
    // Random values, so that the data takes its size on disk instead of compressing away.
    let node = Node::start(&[]);
    let mut con = node.conn();
    let mut rng = rand::thread_rng();
    let mut peak_disk = 0;
    for chunk in 0..100 {
        let mut pipe = redis::pipe();
        for i in 0..1000 {
            let value: Vec<u8> = (0..1024).map(|_| rng.gen()).collect();
            pipe.cmd("SET")
                .arg(format!("exp:{chunk}:{i}"))
                .arg(value)
                .arg("PX")
                .arg(1000)
                .ignore();
        }
        pipe.query::<()>(&mut con).unwrap();
        peak_disk = peak_disk.max(info_field(&mut con, "persistence", "disk_bytes"));
    }
    redis::cmd("SET")
        .arg("keeper")
        .arg("stays")
        .query::<()>(&mut con)
        .unwrap();
    let size: u64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert!(size > 1000, "keys were written");

    let deadline = Instant::now() + Duration::from_secs(30);
    let mut size = u64::MAX;
    while Instant::now() < deadline {
        size = redis::cmd("DBSIZE").query(&mut con).unwrap();
        if size == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(size, 1, "expired keys were not removed by active expiry");
    // Keys expire while others are still being written, so the disk never holds all 100 MiB
    // at once. What stays is the write-ahead log's current segment and its spare (16 MiB
    // each); everything else of the expired data must be reclaimed.
    let written: u64 = 100 * 1000 * 1024;
    let mut disk = u64::MAX;
    while Instant::now() < deadline {
        disk = info_field(&mut con, "persistence", "disk_bytes");
        if disk < written / 2 && disk < peak_disk {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        disk < written / 2 && disk < peak_disk,
        "disk usage {disk} after {written} bytes written, at most {peak_disk} at once"
    );
    assert!(info_field(&mut con, "stats", "expired_keys") >= 100_000);
    let keeper: String = redis::cmd("GET").arg("keeper").query(&mut con).unwrap();
    assert_eq!(keeper, "stays");
}

#[test]
fn lazy_expiry_hides_keys_before_active_expiry_runs() {
    let node = Node::start(&[]);
    let mut con = node.conn();
    redis::cmd("SET")
        .arg("k")
        .arg("v")
        .arg("PX")
        .arg(50)
        .query::<()>(&mut con)
        .unwrap();
    redis::cmd("HSET")
        .arg("h")
        .arg("f")
        .arg("v")
        .query::<()>(&mut con)
        .unwrap();
    redis::cmd("PEXPIRE")
        .arg("h")
        .arg(50)
        .query::<()>(&mut con)
        .unwrap();
    std::thread::sleep(Duration::from_millis(80));
    let v: Option<String> = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(v, None);
    let f: Option<String> = redis::cmd("HGET")
        .arg("h")
        .arg("f")
        .query(&mut con)
        .unwrap();
    assert_eq!(f, None);
    let n: i64 = redis::cmd("INCR").arg("k").query(&mut con).unwrap();
    assert_eq!(n, 1, "INCR on an expired key starts from zero");
    let ttl: i64 = redis::cmd("TTL").arg("k").query(&mut con).unwrap();
    assert_eq!(ttl, -1);
}
