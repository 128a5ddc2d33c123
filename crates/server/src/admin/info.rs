//! `INFO`: the server, clients, memory, persistence, stats, cluster and keyspace sections, in Redis's
//! `field:value` text format so existing tools can parse them.

use std::fmt::Write;

use bytes::Bytes;
use ringkv_protocol::Frame;

use super::REDIS_VERSION;
use crate::server::Shared;
use crate::stats::Stats;

const SECTIONS: [&str; 7] = [
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "cluster",
    "keyspace",
];

/// Runs `INFO [section ...]`.
pub(super) fn info(shared: &Shared, argv: &[Bytes]) -> Frame {
    let wanted: Vec<String> = argv[1..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let all = wanted.is_empty()
        || wanted
            .iter()
            .any(|w| w == "all" || w == "everything" || w == "default");
    let mut text = String::new();
    for section in SECTIONS {
        if all || wanted.iter().any(|w| w == section) {
            if !text.is_empty() {
                text.push_str("\r\n");
            }
            write_section(shared, section, &mut text);
        }
    }
    Frame::Verbatim(Bytes::from(text))
}

fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "K", "M", "G", "T"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else {
        format!("{value:.2}{}", UNITS[unit])
    }
}

fn write_section(shared: &Shared, section: &str, out: &mut String) {
    let config = shared.config.read().clone();
    let engine = shared.reader.engine();
    let engine_stats = engine.stats();
    let stats = &shared.stats;
    let uptime = shared.started.elapsed().as_secs();
    let _ = match section {
        "server" => write!(
            out,
            "# Server\r\nredis_version:{REDIS_VERSION}\r\nringkv_version:{}\r\nredis_mode:standalone\r\nos:{} {}\r\narch_bits:64\r\nprocess_id:{}\r\nrun_id:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\nexecutable:{}\r\n",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::env::consts::ARCH,
            std::process::id(),
            shared.run_id,
            shared.local_addr.port(),
            uptime / 86400,
            std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
        ),
        "clients" => write!(
            out,
            "# Clients\r\nconnected_clients:{}\r\nmaxclients:{}\r\nblocked_clients:0\r\n",
            shared.clients.len(),
            config.maxclients
        ),
        "memory" => write!(
            out,
            "# Memory\r\nused_memory:{0}\r\nused_memory_human:{1}\r\nmaxmemory:{2}\r\nmaxmemory_human:{3}\r\nmaxmemory_policy:{4}\r\n",
            engine_stats.memory_bytes,
            human(engine_stats.memory_bytes),
            config.maxmemory,
            human(config.maxmemory),
            config.maxmemory_policy,
        ),
        "persistence" => write!(
            out,
            "# Persistence\r\nloading:0\r\nengine:{}\r\nfsync:{}\r\ndir:{}\r\ndisk_bytes:{}\r\ndisk_human:{}\r\n",
            engine.name(),
            config.fsync,
            config.dir.display(),
            engine_stats.disk_bytes,
            human(engine_stats.disk_bytes),
        ),
        "stats" => write!(
            out,
            "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\nrejected_connections:{}\r\nexpired_keys:{}\r\nevicted_keys:{}\r\n",
            Stats::get(&stats.connections_received),
            Stats::get(&stats.commands_processed),
            Stats::get(&stats.net_input_bytes),
            Stats::get(&stats.net_output_bytes),
            Stats::get(&stats.rejected_connections),
            shared.reader.expired_keys(),
            Stats::get(&stats.evicted_keys),
        ),
        "cluster" => write!(
            out,
            "# Cluster\r\ncluster_enabled:{}\r\n",
            u8::from(shared.log.cluster().is_some())
        ),
        _ => {
            let keys = shared.reader.dbsize();
            out.push_str("# Keyspace\r\n");
            if keys > 0 {
                let expires = shared.reader.volatile_keys();
                let _ = write!(out, "db0:keys={keys},expires={expires},avg_ttl=0\r\n");
            }
            Ok(())
        }
    };
}
