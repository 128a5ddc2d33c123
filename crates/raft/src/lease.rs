//! A leader's read lease: once a quorum has confirmed this replica's leadership, reads skip
//! their own confirmation for a while, because no other replica can be elected meanwhile.
//!
//! Why no other leader can appear: every follower that answered the confirmation's
//! heartbeats refuses to vote for anyone for `election_timeout_max` after it did (openraft's
//! leader lease on followers), and a quorum of those intersects every majority. A lease
//! counts from the moment its confirmation *started*, before any heartbeat went out, and
//! lasts less than that refusal (`election_timeout_min`), which leaves room for clocks that
//! run at slightly different rates. It holds only in the term whose confirmation granted it.
//!
//! The leader itself is the one voter openraft does not hold back: a leader grants its vote
//! to an up-to-date candidate with a higher term once its own election is
//! `election_timeout_max` old. So the leader's vote requests pass through here first: while a
//! lease holds they are refused, and one let through ends the lease and keeps confirmations
//! that started before it was answered from granting a new one. A hand-off of leadership,
//! which needs the successor to win this leader's vote, suspends the lease first.
//!
//! A follower that restarts has forgotten when it last heard from a leader, and openraft
//! would let it vote at once. A replica that had voted before it restarted therefore refuses
//! votes for `election_timeout_max` after it starts, as it might have before it stopped. (A
//! replica that never voted never answered a leader, so no lease rests on it.)

use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// The read lease of one replica.
pub(crate) struct ReadLease {
    duration: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Reads may skip their confirmation until then, while the term is this one.
    until: Option<(Instant, u64)>,
    /// Vote requests handed to Raft and not answered yet.
    votes_open: u32,
    /// When the last vote request handed to Raft was answered.
    vote_answered: Option<Instant>,
    /// Hand-offs of leadership under way.
    suspended: u32,
    /// Votes are refused until then, lease or not: a restarted replica's refusal.
    votes_refused_until: Option<Instant>,
}

impl ReadLease {
    /// A lease that lasts `duration` from the start of the confirmation that grants it, for
    /// a replica that refuses every vote until `votes_refused_until` (if set).
    pub fn new(duration: Duration, votes_refused_until: Option<Instant>) -> Self {
        ReadLease {
            duration,
            state: Mutex::new(State {
                votes_refused_until,
                ..State::default()
            }),
        }
    }

    /// Whether a read arriving now, in `term`, may skip its confirmation: a lease granted in
    /// an earlier term, before this replica lost and won the leadership again, does not.
    pub fn holds(&self, now: Instant, term: u64) -> bool {
        let state = self.state.lock();
        state.holds(now) && state.until.is_some_and(|(_, t)| t == term)
    }

    /// Records that a confirmation of leadership in `term` that started at `started`
    /// succeeded.
    pub fn confirmed(&self, started: Instant, term: u64) {
        let mut state = self.state.lock();
        let after_votes = state.vote_answered.is_none_or(|at| started > at);
        if state.votes_open == 0 && state.suspended == 0 && after_votes {
            let until = started + self.duration;
            state.until = match state.until {
                Some((u, t)) if t == term => Some((u.max(until), term)),
                _ => Some((until, term)),
            };
        }
    }

    /// Lets a vote request through to Raft, ending the lease, unless the lease holds or this
    /// replica refuses votes for now (None: refuse the vote). Drop the pass once Raft has
    /// answered.
    pub fn admit_vote(&self, now: Instant) -> Option<VotePass<'_>> {
        let mut state = self.state.lock();
        if state.holds(now) || state.votes_refused_until.is_some_and(|u| now < u) {
            return None;
        }
        state.until = None;
        state.votes_open += 1;
        Some(VotePass(self))
    }

    /// Ends the lease and grants none until the returned guard is dropped: for a hand-off
    /// of leadership, whose successor needs this replica's vote.
    pub fn suspend(&self) -> Suspended<'_> {
        let mut state = self.state.lock();
        state.until = None;
        state.suspended += 1;
        Suspended(self)
    }
}

impl State {
    fn holds(&self, now: Instant) -> bool {
        self.votes_open == 0 && self.suspended == 0 && self.until.is_some_and(|(u, _)| now < u)
    }
}

/// A vote request handed to Raft; dropped once answered.
pub(crate) struct VotePass<'a>(&'a ReadLease);

impl Drop for VotePass<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state.lock();
        state.votes_open -= 1;
        state.vote_answered = Some(Instant::now());
    }
}

/// A suspended lease; granted again by confirmations once dropped.
pub(crate) struct Suspended<'a>(&'a ReadLease);

impl Drop for Suspended<'_> {
    fn drop(&mut self) {
        self.0.state.lock().suspended -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: Duration = Duration::from_millis(300);

    #[test]
    fn a_confirmation_grants_a_lease_from_its_start() {
        let lease = ReadLease::new(LEASE, None);
        let start = Instant::now();
        assert!(!lease.holds(start, 1), "no lease before any confirmation");
        lease.confirmed(start, 1);
        assert!(lease.holds(start + LEASE - Duration::from_millis(1), 1));
        assert!(!lease.holds(start + LEASE, 1));
        lease.confirmed(start - LEASE, 1);
        assert!(
            lease.holds(start + Duration::from_millis(1), 1),
            "an older confirmation does not shorten it"
        );
    }

    #[test]
    fn a_lease_holds_only_in_the_term_that_granted_it() {
        let lease = ReadLease::new(LEASE, None);
        let now = Instant::now();
        lease.confirmed(now, 3);
        assert!(lease.holds(now, 3));
        assert!(!lease.holds(now, 5));
        assert!(
            lease.admit_vote(now).is_none(),
            "votes are refused all the same"
        );
        lease.confirmed(now - LEASE / 2, 5);
        assert!(
            lease.holds(now, 5),
            "a new term's confirmation replaces the old lease"
        );
        assert!(!lease.holds(now + LEASE / 2, 5));
    }

    #[test]
    fn votes_are_refused_while_the_lease_holds_and_end_it_when_let_through() {
        let lease = ReadLease::new(LEASE, None);
        let now = Instant::now();
        lease.confirmed(now, 1);
        assert!(lease.admit_vote(now).is_none());
        assert!(lease.holds(now, 1), "a refused vote leaves the lease");
        let pass = lease
            .admit_vote(now + LEASE)
            .expect("an expired lease lets votes through");
        lease.confirmed(Instant::now(), 1);
        assert!(
            !lease.holds(Instant::now(), 1),
            "no lease while a vote is with Raft, even from a new confirmation"
        );
        let before_answer = Instant::now();
        drop(pass);
        lease.confirmed(before_answer, 1);
        assert!(
            !lease.holds(Instant::now(), 1),
            "a confirmation that started before the vote was answered grants nothing"
        );
        let after_answer = Instant::now() + Duration::from_millis(1);
        lease.confirmed(after_answer, 1);
        assert!(lease.holds(after_answer, 1));
    }

    #[test]
    fn a_restarted_replica_refuses_votes_for_a_while() {
        let now = Instant::now();
        let lease = ReadLease::new(LEASE, Some(now + 2 * LEASE));
        assert!(lease.admit_vote(now).is_none());
        assert!(lease
            .admit_vote(now + 2 * LEASE - Duration::from_millis(1))
            .is_none());
        assert!(lease.admit_vote(now + 2 * LEASE).is_some());
    }

    #[test]
    fn a_suspended_lease_lets_votes_through_and_grants_nothing() {
        let lease = ReadLease::new(LEASE, None);
        let start = Instant::now();
        lease.confirmed(start, 1);
        let suspended = lease.suspend();
        assert!(!lease.holds(start, 1));
        assert!(lease.admit_vote(start).is_some());
        lease.confirmed(Instant::now(), 1);
        assert!(!lease.holds(Instant::now(), 1));
        drop(suspended);
        let later = Instant::now();
        lease.confirmed(later, 1);
        assert!(lease.holds(later, 1));
    }
}
