//! Partition test of a replicated shard: a three-node cluster with one shard serves a single
//! register (key `reg`) to concurrent clients while its leader is cut off from the other two
//! nodes for a few seconds and then reconnected.
//!
//! The isolated old leader must stop acknowledging writes, the majority must elect a new
//! leader and keep acknowledging them, every node must hold the same value once the network
//! heals, and the whole history the clients observed must be linearizable.
//!
//! The nodes run inside the network namespaces of a [`NetLab`]; every client runs in its hub
//! namespace, which reaches every node whatever the partition. The test needs root and
//! working `ip netns`; without them it prints `skipping: <reason>` and passes.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::cluster::TestCluster;
use common::netns::{self, NetLab};
use rand::Rng;
use redis::{Connection, ErrorKind, Value};
use ringkv_linearizability::{check, CheckError, Operation, RegisterOp};

/// The register every client reads and writes.
const KEY: &str = "reg";
/// Number of client threads following redirects.
const CLIENTS: usize = 5;
/// Client number of the probe that writes to the isolated old leader only.
const PROBE: usize = CLIENTS;
/// Client number of the probe that reads from the old leader only, across the cut: its
/// answers in the first moments of the partition come from the leader's read lease.
const READ_PROBE: usize = CLIENTS + 1;
/// Client number of the final linearizable read made after healing.
const FINAL_READ: usize = CLIENTS + 2;
/// Read and write timeout of every request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest a connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Most attempts (redirects, `TRYAGAIN`s, failed connects) one logical operation makes.
const MAX_ATTEMPTS: usize = 10;
/// How long clients run before the partition.
const BEFORE_PARTITION: Duration = Duration::from_secs(2);
/// How long the old leader stays isolated.
const PARTITION: Duration = Duration::from_secs(5);
/// How long clients keep running after healing.
const AFTER_HEAL: Duration = Duration::from_secs(3);
/// Time the isolated old leader gets to deliver replies to writes it committed just before the
/// cut; an acknowledgement it sends later is a safety violation.
const ACK_GRACE: Duration = Duration::from_secs(1);
/// Time the majority gets to elect a new leader before it must acknowledge writes.
const ELECTION_GRACE: Duration = Duration::from_secs(2);

/// The history's clock: nanoseconds since the test started, shared by every thread.
#[derive(Clone, Copy)]
struct Clock(Instant);

impl Clock {
    /// Nanoseconds elapsed since the clock started.
    fn now(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_nanos()).expect("test runs for less than 584 years")
    }
}

/// One operation of the history, with the node whose reply decided it (for an operation with
/// an unknown outcome, the node it was last sent to).
#[derive(Clone, Copy)]
struct Record {
    op: Operation,
    node: usize,
}

/// Nanoseconds in `d`, for comparisons with [`Clock`] readings.
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).expect("short duration")
}

/// Opens a connection to `addr` (`host:port`) with [`REQUEST_TIMEOUT`] on reads and writes.
fn connect(addr: &str) -> redis::RedisResult<Connection> {
    let con = redis::Client::open(format!("redis://{addr}/"))?
        .get_connection_with_timeout(CONNECT_TIMEOUT)?;
    con.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    con.set_write_timeout(Some(REQUEST_TIMEOUT))?;
    Ok(con)
}

/// The register value in a `GET` reply.
fn register_value(reply: &Value) -> Option<u64> {
    redis::from_redis_value(reply).unwrap_or_else(|e| panic!("GET replied {reply:?}: {e}"))
}

/// How one logical operation ended.
enum Outcome {
    /// A definite reply, from this node.
    Replied(Value, usize),
    /// Sent to this node, but the outcome is unknown: a timeout, a dropped connection, or an
    /// error reply such as `CLUSTERDOWN`.
    Unknown(usize),
    /// Certainly not executed: every attempt was redirected (`MOVED`), refused with
    /// `TRYAGAIN`, or could not connect.
    NotExecuted,
}

/// A plain connection to whichever node a client currently talks to: follows `MOVED` to the
/// node it names, and moves on to the next node after `TRYAGAIN` or any failure.
struct Router {
    /// Client addresses (`host:port`) of the nodes, index i being node i.
    nodes: Vec<String>,
    /// The node the next attempt goes to.
    target: usize,
    /// The open connection and the node it leads to.
    con: Option<(usize, Connection)>,
}

impl Router {
    /// A router that starts at node `first`.
    fn new(nodes: Vec<String>, first: usize) -> Router {
        Router {
            nodes,
            target: first,
            con: None,
        }
    }

    /// Sends `cmd` until some node executes it or a failure leaves its outcome unknown. Only
    /// `MOVED`, `TRYAGAIN` and failed connects, which all mean "not executed", are retried.
    fn send(&mut self, cmd: &redis::Cmd) -> Outcome {
        for _ in 0..MAX_ATTEMPTS {
            let node = self.target;
            let Some(con) = self.connection() else {
                self.move_on();
                continue;
            };
            match cmd.query::<Value>(con) {
                Ok(reply) => return Outcome::Replied(reply, node),
                Err(e) if e.kind() == ErrorKind::Moved => {
                    let named = e.redirect_node().and_then(|(host, port)| {
                        self.nodes
                            .iter()
                            .position(|a| *a == format!("{host}:{port}"))
                    });
                    match named {
                        Some(leader) if leader != node => self.target = leader,
                        _ => self.move_on(),
                    }
                }
                Err(e) if e.kind() == ErrorKind::TryAgain => self.move_on(),
                Err(_) => {
                    self.move_on();
                    return Outcome::Unknown(node);
                }
            }
        }
        Outcome::NotExecuted
    }

    /// The connection to the target node, opened if needed; None if it cannot be opened.
    fn connection(&mut self) -> Option<&mut Connection> {
        if self
            .con
            .as_ref()
            .is_some_and(|(node, _)| *node != self.target)
        {
            self.con = None;
        }
        if self.con.is_none() {
            let con = connect(&self.nodes[self.target]).ok()?;
            self.con = Some((self.target, con));
        }
        self.con.as_mut().map(|(_, con)| con)
    }

    /// Drops the connection and targets the next node, after a short pause.
    fn move_on(&mut self) {
        self.con = None;
        self.target = (self.target + 1) % self.nodes.len();
        thread::sleep(Duration::from_millis(50));
    }
}

/// A client: until `stop`, randomly reads or writes [`KEY`] through a [`Router`], writing
/// `client * 1_000_000 + n` as its n-th value; returns what it observed. Writes with an unknown
/// outcome are recorded as such; failed reads and writes that were never executed are not.
fn run_client(client: usize, nodes: Vec<String>, clock: Clock, stop: &AtomicBool) -> Vec<Record> {
    let mut rng = rand::thread_rng();
    let first = client % nodes.len();
    let mut router = Router::new(nodes, first);
    let mut history = Vec::new();
    let mut written = 0;
    while !stop.load(Ordering::Relaxed) {
        let invoked = clock.now();
        let record = |op, returned, node| Record {
            op: Operation {
                client,
                op,
                invoked,
                returned,
            },
            node,
        };
        if rng.gen_bool(0.5) {
            written += 1;
            let value = (client * 1_000_000 + written) as u64;
            let write = RegisterOp::Write(value);
            match router.send(redis::cmd("SET").arg(KEY).arg(value)) {
                Outcome::Replied(Value::Okay, node) => {
                    history.push(record(write, Some(clock.now()), node));
                }
                Outcome::Replied(other, node) => {
                    panic!("client {client}: node {node} answered SET with {other:?}")
                }
                Outcome::Unknown(node) => history.push(record(write, None, node)),
                Outcome::NotExecuted => {}
            }
        } else if let Outcome::Replied(reply, node) = router.send(redis::cmd("GET").arg(KEY)) {
            let read = RegisterOp::Read(register_value(&reply));
            history.push(record(read, Some(clock.now()), node));
        }
    }
    history
}

/// A probe's connection to `addr`, opened again if it was dropped; None if it cannot be.
fn reconnect<'a>(con: &'a mut Option<Connection>, addr: &str) -> Option<&'a mut Connection> {
    if con.is_none() {
        *con = Some(connect(addr).ok()?);
    }
    con.as_mut()
}

/// The probe: until `stop`, writes unique values of client [`PROBE`] to node `node` at `addr`
/// only, never following redirects, and returns what it observed.
fn run_probe(addr: String, node: usize, clock: Clock, stop: &AtomicBool) -> Vec<Record> {
    let mut history = Vec::new();
    let mut con = None;
    let mut written = 0;
    while !stop.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(20));
        let Some(c) = reconnect(&mut con, &addr) else {
            continue;
        };
        written += 1;
        let value = (PROBE * 1_000_000 + written) as u64;
        let invoked = clock.now();
        let returned = match redis::cmd("SET").arg(KEY).arg(value).query::<Value>(c) {
            Ok(Value::Okay) => Some(clock.now()),
            Ok(other) => panic!("probe: node {node} answered SET with {other:?}"),
            Err(e) if matches!(e.kind(), ErrorKind::Moved | ErrorKind::TryAgain) => continue,
            Err(_) => {
                con = None;
                None
            }
        };
        history.push(Record {
            op: Operation {
                client: PROBE,
                op: RegisterOp::Write(value),
                invoked,
                returned,
            },
            node,
        });
    }
    history
}

/// The read probe: until `stop`, reads [`KEY`] from node `node` at `addr` only, every few
/// milliseconds, never following redirects, and returns the reads it was answered.
fn run_read_probe(addr: String, node: usize, clock: Clock, stop: &AtomicBool) -> Vec<Record> {
    let mut history = Vec::new();
    let mut con = None;
    while !stop.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(5));
        let Some(c) = reconnect(&mut con, &addr) else {
            continue;
        };
        let invoked = clock.now();
        match redis::cmd("GET").arg(KEY).query::<Value>(c) {
            Ok(reply) => history.push(Record {
                op: Operation {
                    client: READ_PROBE,
                    op: RegisterOp::Read(register_value(&reply)),
                    invoked,
                    returned: Some(clock.now()),
                },
                node,
            }),
            Err(e) if matches!(e.kind(), ErrorKind::Moved | ErrorKind::TryAgain) => {}
            Err(_) => con = None,
        }
    }
    history
}

/// The node every node names as the shard's leader (`CLUSTER SLOTS` lists it first), provided
/// every node also reports `cluster_state:ok`; None while some node disagrees or is silent.
fn agreed_leader(nodes: &[String]) -> Option<usize> {
    let mut leader = None;
    for addr in nodes {
        let mut con = connect(addr).ok()?;
        let info: String = redis::cmd("CLUSTER").arg("INFO").query(&mut con).ok()?;
        if !info.contains("cluster_state:ok") {
            return None;
        }
        let slots: Vec<Vec<Value>> = redis::cmd("CLUSTER").arg("SLOTS").query(&mut con).ok()?;
        let (host, port, _): (String, u16, String) =
            redis::from_redis_value(slots.first()?.get(2)?).ok()?;
        let named = nodes.iter().position(|a| *a == format!("{host}:{port}"))?;
        if *leader.get_or_insert(named) != named {
            return None;
        }
    }
    leader
}

/// Polls [`agreed_leader`] until it names a leader; panics after `timeout`.
fn wait_for_leader(nodes: &[String], timeout: Duration) -> usize {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(leader) = agreed_leader(nodes) {
            return leader;
        }
        assert!(
            Instant::now() < deadline,
            "the nodes did not agree on a leader within {timeout:?}"
        );
        thread::sleep(Duration::from_millis(100));
    }
}

/// Reads [`KEY`] from the agreed leader (a linearizable read, recorded as client
/// [`FINAL_READ`]) and then from every node after `READONLY`, until all of them hold the same
/// value. Returns the leader's read, or after `timeout` a description of what the nodes last
/// held.
fn converge(nodes: &[String], clock: Clock, timeout: Duration) -> Result<Record, String> {
    let deadline = Instant::now() + timeout;
    let mut last = String::from("no leader was agreed on");
    loop {
        if let Some(leader) = agreed_leader(nodes) {
            let invoked = clock.now();
            let leader_read = connect(&nodes[leader])
                .and_then(|mut con| redis::cmd("GET").arg(KEY).query::<Value>(&mut con));
            let returned = clock.now();
            match leader_read {
                Ok(reply) => {
                    let value = register_value(&reply);
                    let held: Vec<Result<Option<u64>, String>> = nodes
                        .iter()
                        .map(|addr| {
                            let mut con = connect(addr).map_err(|e| e.to_string())?;
                            redis::cmd("READONLY")
                                .query::<()>(&mut con)
                                .map_err(|e| e.to_string())?;
                            redis::cmd("GET")
                                .arg(KEY)
                                .query::<Value>(&mut con)
                                .map(|reply| register_value(&reply))
                                .map_err(|e| e.to_string())
                        })
                        .collect();
                    if held.iter().all(|h| *h == Ok(value)) {
                        return Ok(Record {
                            op: Operation {
                                client: FINAL_READ,
                                op: RegisterOp::Read(value),
                                invoked,
                                returned: Some(returned),
                            },
                            node: leader,
                        });
                    }
                    last = format!("leader node {leader} holds {value:?}, the nodes hold {held:?}");
                }
                Err(e) => last = format!("GET on leader node {leader} failed: {e}"),
            }
        }
        if Instant::now() >= deadline {
            return Err(last);
        }
        thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_partitioned_minority_stops_acknowledging_writes_and_the_history_stays_linearizable() {
    if let Err(reason) = netns::available() {
        println!("skipping: {reason}");
        return;
    }
    let lab = Arc::new(NetLab::new(3).expect("create lab"));
    let cluster = TestCluster::start_on(3, &["--shards", "1"], Some(lab.clone()));
    let nodes: Vec<String> = cluster
        .nodes
        .iter()
        .map(|n| format!("{}:{}", n.host, n.port))
        .collect();
    let clock = Clock(Instant::now());
    lab.enter_hub(|| wait_for_leader(&nodes, Duration::from_secs(30)));

    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<JoinHandle<Vec<Record>>> = lab.enter_hub(|| {
        (0..CLIENTS)
            .map(|client| {
                let (nodes, stop) = (nodes.clone(), stop.clone());
                thread::spawn(move || run_client(client, nodes, clock, &stop))
            })
            .collect()
    });
    thread::sleep(BEFORE_PARTITION);

    let old_leader = lab.enter_hub(|| wait_for_leader(&nodes, Duration::from_secs(10)));
    let read_probe = lab.enter_hub(|| {
        let (addr, stop) = (nodes[old_leader].clone(), stop.clone());
        thread::spawn(move || run_read_probe(addr, old_leader, clock, &stop))
    });
    thread::sleep(Duration::from_millis(100));
    lab.isolate(old_leader);
    let isolated_at = clock.now();
    let probe_stop = Arc::new(AtomicBool::new(false));
    let probe = lab.enter_hub(|| {
        let (addr, stop) = (nodes[old_leader].clone(), probe_stop.clone());
        thread::spawn(move || run_probe(addr, old_leader, clock, &stop))
    });
    thread::sleep(PARTITION);
    probe_stop.store(true, Ordering::Relaxed);
    let healed_at = clock.now();
    lab.heal();
    thread::sleep(AFTER_HEAL);
    stop.store(true, Ordering::Relaxed);

    let mut records: Vec<Record> = clients
        .into_iter()
        .flat_map(|client| client.join().expect("client thread"))
        .collect();
    let probe_records = probe.join().expect("probe thread");
    records.extend(&probe_records);
    let read_probe_records = read_probe.join().expect("read probe thread");
    let lease_reads = read_probe_records
        .iter()
        .filter(|r| (isolated_at..isolated_at + nanos(ELECTION_GRACE)).contains(&r.op.invoked))
        .count();
    records.extend(&read_probe_records);
    let converged = lab.enter_hub(|| converge(&nodes, clock, Duration::from_secs(10)));
    if let Ok(final_read) = converged {
        records.push(final_read);
    }

    let writes = || {
        records
            .iter()
            .filter(|r| matches!(r.op.op, RegisterOp::Write(_)))
    };
    let during_partition = |t: u64| (isolated_at..healed_at).contains(&t);
    // An acknowledgement from the isolated old leader is a violation for any write it was sent
    // after the cut, and for any write it acknowledged after the grace period.
    let minority_acks: Vec<&Record> = writes()
        .filter(|r| r.node == old_leader)
        .filter(|r| {
            r.op.returned.is_some_and(|returned| {
                during_partition(r.op.invoked)
                    || (during_partition(returned) && returned >= isolated_at + nanos(ACK_GRACE))
            })
        })
        .collect();
    let majority_acks = writes()
        .filter(|r| r.node != old_leader && r.op.invoked >= isolated_at + nanos(ELECTION_GRACE))
        .filter(|r| r.op.returned.is_some_and(during_partition))
        .count();
    let definite_writes = writes().filter(|r| r.op.returned.is_some()).count();
    let indefinite_writes = writes().filter(|r| r.op.returned.is_none()).count();
    let reads = records.len() - definite_writes - indefinite_writes;
    println!(
        "old leader: node {old_leader}; {} operations: {definite_writes} definite writes, \
         {indefinite_writes} indefinite writes, {reads} reads; {} of them probe writes to the \
         isolated old leader; {lease_reads} reads it answered in the first \
         {ELECTION_GRACE:?} of the partition; {majority_acks} writes acknowledged by the \
         majority during the partition",
        records.len(),
        probe_records.len(),
    );

    assert!(
        minority_acks.is_empty(),
        "the isolated old leader acknowledged writes during the partition (isolated at {isolated_at}, \
         healed at {healed_at}):\n{}",
        minority_acks
            .iter()
            .map(|r| r.op.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        majority_acks > 0,
        "the majority acknowledged no write sent {ELECTION_GRACE:?} or more into the partition"
    );
    if let Err(last) = converged {
        panic!("the nodes did not converge on one value of {KEY:?} after healing: {last}");
    }
    let history: Vec<Operation> = records.iter().map(|r| r.op).collect();
    match check(&history, None) {
        Ok(()) => {}
        Err(CheckError::NotLinearizable(violation)) => {
            panic!("the history is not linearizable:\n{violation}")
        }
        Err(e @ CheckError::TooComplex) => panic!("{e}"),
    }
}
