//! Histories with operations whose outcome is unknown.

use super::{check, indices, read, violation, write};
use crate::{Operation, RegisterOp};

/// A write whose outcome is unknown.
fn lost_write(client: usize, value: u64, invoked: u64) -> Operation {
    Operation {
        client,
        op: RegisterOp::Write(value),
        invoked,
        returned: None,
    }
}

#[test]
fn indefinite_write_observed_later_is_linearizable() {
    let history = [
        write(0, 1, 0, 10),
        lost_write(1, 2, 20),
        read(0, Some(1), 30, 40),
        read(0, Some(2), 1_000, 1_010),
        read(2, Some(2), 1_020, 1_030),
    ];
    assert!(check(&history, None).is_ok());
}

#[test]
fn indefinite_write_never_observed_is_linearizable() {
    let history = [
        write(0, 1, 0, 10),
        lost_write(1, 2, 20),
        read(0, Some(1), 30, 40),
        read(2, Some(1), 1_000, 1_010),
    ];
    assert!(check(&history, None).is_ok());
}

#[test]
fn indefinite_write_observed_then_older_value_again_is_not_linearizable() {
    let history = [
        write(0, 1, 0, 10),
        lost_write(1, 2, 20),
        read(0, Some(2), 30, 40),
        read(2, Some(1), 50, 60),
    ];
    let found = violation(&history, None);
    assert_eq!(found.state(), Some(1));
    assert_eq!(indices(found.stuck()), [1, 2]);
    assert_eq!(indices(found.awaiting()), [3]);
}

#[test]
fn indefinite_write_cannot_take_effect_before_its_invocation() {
    violation(&[read(0, Some(2), 0, 10), lost_write(1, 2, 20)], None);
}

#[test]
fn indefinite_writes_of_a_repeated_value_may_each_be_the_one_observed() {
    let history = [
        lost_write(0, 5, 0),
        write(1, 1, 10, 20),
        read(2, Some(1), 21, 22),
        lost_write(3, 5, 30),
        read(2, Some(5), 40, 50),
    ];
    assert!(check(&history, None).is_ok());
}

#[test]
fn indefinite_reads_are_ignored() {
    let unknown_read = Operation {
        client: 1,
        op: RegisterOp::Read(Some(9)),
        invoked: 5,
        returned: None,
    };
    assert!(check(
        &[write(0, 1, 0, 10), unknown_read, read(0, Some(1), 11, 12)],
        None
    )
    .is_ok());
}
