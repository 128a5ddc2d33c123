//! Hand-written histories with known verdicts.

mod indefinite;
mod random;

use crate::{check, check_with_limit, CheckError, Indexed, Operation, RegisterOp, Violation};

/// A write that returned.
fn write(client: usize, value: u64, invoked: u64, returned: u64) -> Operation {
    Operation {
        client,
        op: RegisterOp::Write(value),
        invoked,
        returned: Some(returned),
    }
}

/// A read that returned `value`.
fn read(client: usize, value: Option<u64>, invoked: u64, returned: u64) -> Operation {
    Operation {
        client,
        op: RegisterOp::Read(value),
        invoked,
        returned: Some(returned),
    }
}

/// The history indices of `operations`.
fn indices(operations: &[Indexed]) -> Vec<usize> {
    operations.iter().map(|&(index, _)| index).collect()
}

/// Checks `history` expecting a violation, and that the violation explains itself (see
/// [`assert_explains`]).
fn violation(history: &[Operation], initial: Option<u64>) -> Violation {
    match check(history, initial) {
        Err(CheckError::NotLinearizable(violation)) => {
            assert_explains(history, initial, &violation);
            violation
        }
        other => panic!("expected a violation, got {other:?}"),
    }
}

/// Asserts what [`Violation`] promises: its order is valid for `history` and ends in its
/// state, and every stuck operation is a read of another value, or a write that would
/// overwrite the value the awaiting reads return, which no write outside the order writes.
fn assert_explains(history: &[Operation], initial: Option<u64>, violation: &Violation) {
    let mut state = initial;
    let mut placed = vec![false; history.len()];
    for (position, &(index, op)) in violation.linearized().iter().enumerate() {
        assert_eq!(history[index], op);
        assert!(
            !std::mem::replace(&mut placed[index], true),
            "#{index} ordered twice"
        );
        match op.op {
            RegisterOp::Write(value) => state = Some(value),
            RegisterOp::Read(value) => assert_eq!(value, state, "read #{index} in the order"),
        }
        for &(later, other) in &violation.linearized()[position + 1..] {
            assert!(
                other.returned.is_none_or(|returned| returned >= op.invoked),
                "#{later} returned before #{index} was invoked but is ordered after it"
            );
        }
    }
    assert_eq!(violation.state(), state);
    assert!(!violation.stuck().is_empty());
    for &(index, op) in violation.stuck() {
        assert_eq!(history[index], op);
        assert!(!placed[index], "#{index} is both ordered and stuck");
        match op.op {
            RegisterOp::Read(value) => assert_ne!(value, state, "#{index} {op}"),
            RegisterOp::Write(value) => {
                assert_ne!(Some(value), state, "#{index} {op}");
                assert!(!violation.awaiting().is_empty(), "#{index} {op}");
            }
        }
    }
    for &(index, op) in violation.awaiting() {
        assert_eq!(history[index], op);
        assert!(
            !placed[index] && op.op == RegisterOp::Read(state),
            "#{index} {op}"
        );
    }
    if let (false, Some(value)) = (violation.awaiting().is_empty(), state) {
        let rewrite =
            (0..history.len()).find(|&i| !placed[i] && history[i].op == RegisterOp::Write(value));
        assert_eq!(rewrite, None, "a write of {value} is left");
    }
    assert!(violation
        .to_string()
        .starts_with("history is not linearizable"));
}

#[test]
fn empty_history_is_linearizable() {
    assert!(check(&[], None).is_ok());
    assert!(check(&[], Some(3)).is_ok());
}

#[test]
fn sequential_history_is_linearizable() {
    let history = [
        read(0, None, 0, 1),
        write(0, 1, 2, 3),
        read(1, Some(1), 4, 5),
        write(1, 2, 6, 7),
        read(0, Some(2), 8, 9),
        read(1, Some(2), 10, 11),
    ];
    assert!(check(&history, None).is_ok());
}

#[test]
fn initial_value_is_read_before_any_write() {
    assert!(check(&[read(0, Some(7), 0, 1), write(0, 1, 2, 3)], Some(7)).is_ok());
    let found = violation(&[read(0, None, 0, 1)], Some(7));
    assert_eq!(found.state(), Some(7));
    assert!(found.linearized().is_empty());
}

#[test]
fn sequential_history_with_wrong_read_is_not() {
    let history = [
        write(0, 1, 0, 1),
        write(1, 2, 2, 3),
        read(0, Some(1), 4, 5),
        read(1, Some(2), 6, 7),
    ];
    let found = violation(&history, None);
    assert_eq!(found.state(), Some(1));
    assert_eq!(indices(found.stuck()), [1]);
    assert_eq!(indices(found.awaiting()), [2]);
    let message = found.to_string();
    assert!(
        message.contains("#2 client 0 read 1, invoked at 4, returned at 5"),
        "{message}"
    );
    assert!(message.contains("#1 client 1 write 2"), "{message}");
}

#[test]
fn concurrent_writes_may_be_seen_in_either_order() {
    let writes = [write(0, 1, 0, 10), write(1, 2, 5, 15)];
    for (first, second) in [(1, 2), (2, 1)] {
        let mut history = writes.to_vec();
        history.push(read(2, Some(first), 3, 12));
        assert!(
            check(&history, None).is_ok(),
            "read {first} during both writes"
        );
        history.push(read(2, Some(second), 16, 17));
        assert!(
            check(&history, None).is_ok(),
            "then read {second} after both"
        );
        history.push(read(2, Some(first), 18, 19));
        violation(&history, None);
    }
}

#[test]
fn read_concurrent_with_write_may_see_old_or_new_value() {
    for value in [None, Some(1)] {
        assert!(check(&[write(0, 1, 0, 10), read(1, value, 2, 8)], None).is_ok());
    }
}

#[test]
fn stale_read_after_completed_write_is_not_linearizable() {
    let history = [
        write(0, 1, 0, 10),
        write(0, 2, 20, 30),
        read(1, Some(1), 31, 40),
    ];
    let found = violation(&history, None);
    assert_eq!(found.state(), Some(1));
    assert_eq!(indices(found.linearized()), [0]);
    assert_eq!(indices(found.stuck()), [1]);
    assert_eq!(indices(found.awaiting()), [2]);
}

#[test]
fn stale_read_of_an_absent_key_is_not_linearizable() {
    let found = violation(&[write(0, 1, 0, 10), read(1, None, 20, 30)], None);
    assert_eq!(found.state(), None);
    assert_eq!(indices(found.stuck()), [0]);
    assert_eq!(indices(found.awaiting()), [1]);
    assert!(found.to_string().contains("the register is absent"));
}

#[test]
fn read_of_a_value_never_written_is_not_linearizable() {
    let history = [
        write(0, 1, 0, 10),
        read(1, Some(1), 5, 15),
        read(1, Some(9), 20, 30),
    ];
    let found = violation(&history, None);
    assert_eq!(found.stuck()[0].0, 2);
}

#[test]
fn time_travelling_read_is_not_linearizable() {
    violation(&[read(0, Some(1), 0, 5), write(1, 1, 6, 10)], None);
}

#[test]
fn operations_touching_at_one_instant_count_as_concurrent() {
    assert!(check(&[write(0, 1, 0, 5), read(1, None, 5, 8)], None).is_ok());
    violation(&[write(0, 1, 0, 5), read(1, None, 6, 8)], None);
}

#[test]
fn history_order_does_not_matter() {
    let history = [
        read(1, Some(2), 31, 40),
        write(0, 2, 20, 30),
        write(0, 1, 0, 10),
    ];
    assert!(check(&history, None).is_ok());
    let stale = [
        read(1, Some(1), 31, 40),
        write(0, 2, 20, 30),
        write(0, 1, 0, 10),
    ];
    let found = violation(&stale, None);
    assert_eq!(indices(found.stuck()), [1]);
    assert_eq!(indices(found.awaiting()), [0]);
}

#[test]
fn step_limit_gives_up_with_too_complex() {
    let history: Vec<_> = (0..100)
        .map(|i| write(i % 4, i as u64, i as u64, i as u64 + 3))
        .collect();
    assert!(matches!(
        check_with_limit(&history, None, 10),
        Err(CheckError::TooComplex)
    ));
    assert!(check_with_limit(&history, None, 1_000).is_ok());
}

#[test]
#[should_panic(expected = "returned before it was invoked")]
fn operation_returning_before_its_invocation_panics() {
    let _ = check(&[write(0, 1, 10, 5)], None);
}
