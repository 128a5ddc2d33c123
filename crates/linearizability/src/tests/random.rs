//! Randomized histories: generated from a real register (always linearizable), corrupted
//! (never linearizable), compared with a brute-force checker, and large ones for speed.

use std::time::{Duration, Instant};

use super::assert_explains;
use crate::{check, CheckError, Operation, RegisterOp};

/// A xorshift64* generator: small, deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value, zero included).
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next pseudo-random number.
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..bound`.
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    /// True with probability `percent`%.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// How [`generate`] shapes a history.
struct Shape {
    /// How many clients issue operations, one at a time each.
    clients: usize,
    /// How many operations there are in all.
    operations: usize,
    /// Percentage of operations whose outcome the client never learns.
    indefinite: u64,
    /// Writes draw values from `1..=values` when set, else every write has a fresh value.
    values: Option<u64>,
}

/// A history of `shape` produced by a real register starting at the returned initial value:
/// every operation takes effect at a random instant inside its interval (indefinite ones
/// sometimes long after, sometimes never), and reads return what the register held then.
fn generate(rng: &mut Rng, shape: &Shape) -> (Vec<Operation>, Option<u64>) {
    let initial = rng.chance(50).then_some(0);
    let mut clock = vec![0u64; shape.clients];
    let mut history = Vec::new();
    let mut effects = Vec::new();
    for fresh in 1..=shape.operations as u64 {
        let client = rng.below(shape.clients as u64) as usize;
        let invoked = clock[client] + rng.below(50);
        let returned = invoked + rng.below(200);
        clock[client] = returned + 1;
        let indefinite = rng.chance(shape.indefinite);
        let effect = match indefinite {
            true if rng.chance(30) => None,
            true => Some(invoked + rng.below(2_000)),
            false => Some(invoked + rng.below(returned - invoked + 1)),
        };
        let op = match rng.chance(50) {
            true => RegisterOp::Write(shape.values.map_or(fresh, |values| 1 + rng.below(values))),
            false => RegisterOp::Read(None),
        };
        effects.extend(effect.map(|at| (at, history.len())));
        history.push(Operation {
            client,
            op,
            invoked,
            returned: (!indefinite).then_some(returned),
        });
    }
    effects.sort_unstable();
    let mut state = initial;
    for (_, index) in effects {
        match &mut history[index].op {
            RegisterOp::Write(value) => state = Some(*value),
            RegisterOp::Read(value) => *value = state,
        }
    }
    (history, initial)
}

/// Makes one completed read of `history` return a value nobody wrote; false if it has none.
fn corrupt(rng: &mut Rng, history: &mut [Operation]) -> bool {
    let reads: Vec<usize> = (0..history.len())
        .filter(|&i| matches!(history[i].op, RegisterOp::Read(_)) && history[i].returned.is_some())
        .collect();
    if reads.is_empty() {
        return false;
    }
    history[reads[rng.below(reads.len() as u64) as usize]].op = RegisterOp::Read(Some(u64::MAX));
    true
}

/// Checks `history`, asserting that it is linearizable.
fn assert_linearizable(history: &[Operation], initial: Option<u64>) {
    if let Err(error) = check(history, initial) {
        panic!("{error}\nhistory: {history:#?}");
    }
}

/// Checks `history`, asserting a violation that explains itself.
fn assert_not_linearizable(history: &[Operation], initial: Option<u64>) {
    match check(history, initial) {
        Err(CheckError::NotLinearizable(violation)) => {
            assert_explains(history, initial, &violation)
        }
        other => panic!("expected a violation, got {other:?}\nhistory: {history:#?}"),
    }
}

#[test]
fn histories_of_a_real_register_are_linearizable() {
    let mut rng = Rng::new(1);
    for round in 0..500 {
        let shape = Shape {
            clients: 1 + round % 6,
            operations: 1 + rng.below(60) as usize,
            indefinite: [0, 10, 30][round % 3],
            values: [None, Some(3)][round % 2],
        };
        let (history, initial) = generate(&mut rng, &shape);
        assert_linearizable(&history, initial);
    }
}

#[test]
fn a_read_of_a_value_never_written_is_always_caught() {
    let mut rng = Rng::new(2);
    let mut caught = 0;
    for round in 0..500 {
        let shape = Shape {
            clients: 1 + round % 6,
            operations: 1 + rng.below(60) as usize,
            indefinite: [0, 10, 30][round % 3],
            values: [None, Some(3)][round % 2],
        };
        let (mut history, initial) = generate(&mut rng, &shape);
        if corrupt(&mut rng, &mut history) {
            assert_not_linearizable(&history, initial);
            caught += 1;
        }
    }
    assert!(
        caught > 400,
        "only {caught} histories had a read to corrupt"
    );
}

/// Whether `history` has a linearization, by trying every order of every subset of
/// operations whose outcome is unknown: slow, but straight from the definition.
fn brute_force(history: &[Operation], initial: Option<u64>) -> bool {
    fn extend(history: &[Operation], placed: &mut [bool], state: Option<u64>) -> bool {
        let unplaced: Vec<usize> = (0..history.len())
            .filter(|&i| !placed[i] && history[i].returned.is_some())
            .collect();
        if unplaced.is_empty() {
            return true;
        }
        for i in 0..history.len() {
            let op = history[i];
            let blocked = unplaced
                .iter()
                .any(|&j| history[j].returned < Some(op.invoked));
            let next = match op.op {
                RegisterOp::Write(value) => Some(value),
                RegisterOp::Read(value) if value == state => state,
                RegisterOp::Read(_) => continue,
            };
            if placed[i] || blocked {
                continue;
            }
            placed[i] = true;
            let found = extend(history, placed, next);
            placed[i] = false;
            if found {
                return true;
            }
        }
        false
    }
    extend(history, &mut vec![false; history.len()], initial)
}

#[test]
fn agrees_with_brute_force_on_small_histories() {
    let mut rng = Rng::new(3);
    let mut verdicts = [0, 0];
    for _ in 0..3_000 {
        let history: Vec<Operation> = (0..1 + rng.below(7))
            .map(|_| {
                let op = match rng.below(3) {
                    0 => RegisterOp::Write(1 + rng.below(2)),
                    _ => RegisterOp::Read([None, Some(1), Some(2)][rng.below(3) as usize]),
                };
                let invoked = rng.below(10);
                let returned = (!rng.chance(20)).then(|| invoked + rng.below(6));
                Operation {
                    client: rng.below(3) as usize,
                    op,
                    invoked,
                    returned,
                }
            })
            .collect();
        let initial = rng.chance(30).then_some(1);
        let expected = brute_force(&history, initial);
        verdicts[usize::from(expected)] += 1;
        if expected {
            assert_linearizable(&history, initial);
        } else {
            assert_not_linearizable(&history, initial);
        }
    }
    assert!(
        verdicts.iter().all(|&count| count > 500),
        "verdicts (no, yes): {verdicts:?}"
    );
}

/// A history of 2,000 operations over 8 clients, as the fault tests produce, with
/// `indefinite`% of the operations timing out.
fn large_history(seed: u64, indefinite: u64) -> (Vec<Operation>, Option<u64>) {
    let shape = Shape {
        clients: 8,
        operations: 2_000,
        indefinite,
        values: None,
    };
    generate(&mut Rng::new(seed), &shape)
}

/// Runs `check` on `history`, asserting it takes well under a second even unoptimized.
fn timed_check(history: &[Operation], initial: Option<u64>) -> Result<(), CheckError> {
    let started = Instant::now();
    let result = check(history, initial);
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(500), "took {elapsed:?}");
    result
}

#[test]
fn large_linearizable_history_is_checked_quickly() {
    for (seed, indefinite) in [(0, 0), (1, 3), (2, 25)] {
        let (history, initial) = large_history(seed, indefinite);
        assert!(timed_check(&history, initial).is_ok());
    }
}

#[test]
fn large_history_with_a_late_stale_read_is_rejected_quickly() {
    for (seed, indefinite) in [(0, 0), (1, 3), (2, 25)] {
        let (mut history, initial) = large_history(seed, indefinite);
        let first_write = history
            .iter()
            .position(|op| matches!(op.op, RegisterOp::Write(_)) && op.returned.is_some());
        let RegisterOp::Write(old) = history[first_write.unwrap()].op else {
            unreachable!()
        };
        let late_read = (0..history.len())
            .rev()
            .find(|&i| {
                matches!(history[i].op, RegisterOp::Read(_)) && history[i].returned.is_some()
            })
            .unwrap();
        history[late_read].op = RegisterOp::Read(Some(old));
        match timed_check(&history, initial) {
            Err(CheckError::NotLinearizable(violation)) => {
                assert_explains(&history, initial, &violation);
                let blamed = violation.stuck().iter().chain(violation.awaiting());
                assert!(blamed
                    .map(|&(index, _)| index)
                    .any(|index| index == late_read));
            }
            other => panic!("expected a violation, got {other:?}"),
        }
    }
}
