//! A leader's read lease: once a quorum has confirmed this replica's leadership, reads skip
//! their own confirmation for a while, because no other replica can be elected meanwhile.
//!
//! Why no other leader can appear: every follower that answered the confirmation's
//! heartbeats refuses to vote for anyone for `election_timeout_max` after it did (openraft's
//! leader lease on followers), and a quorum of those intersects every majority. A lease
//! counts from the moment its confirmation *started*, before any heartbeat went out, and
//! lasts less than that refusal (`election_timeout_min`), which leaves room for clocks that
//! run at slightly different rates.
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
    /// Reads may skip their confirmation until then.
    until: Option<Instant>,
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

    /// Whether a read arriving now may skip its confirmation.
    pub fn holds(&self, now: Instant) -> bool {
        self.state.lock().holds(now)
    }

    /// Records that a confirmation of leadership that started at `started` succeeded.
    pub fn confirmed(&self, started: Instant) {
        let mut state = self.state.lock();
        let after_votes = state.vote_answered.is_none_or(|at| started > at);
        if state.votes_open == 0 && state.suspended == 0 && after_votes {
            let until = started + self.duration;
            state.until = Some(state.until.map_or(until, |u| u.max(until)));
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
        self.votes_open == 0 && self.suspended == 0 && self.until.is_some_and(|u| now < u)
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
        assert!(!lease.holds(start), "no lease before any confirmation");
        lease.confirmed(start);
        assert!(lease.holds(start + LEASE - Duration::from_millis(1)));
        assert!(!lease.holds(start + LEASE));
        lease.confirmed(start - LEASE);
        assert!(
            lease.holds(start + Duration::from_millis(1)),
            "an older confirmation does not shorten it"
        );
    }

    #[test]
    fn votes_are_refused_while_the_lease_holds_and_end_it_when_let_through() {
        let lease = ReadLease::new(LEASE, None);
        let now = Instant::now();
        lease.confirmed(now);
        assert!(lease.admit_vote(now).is_none());
        assert!(lease.holds(now), "a refused vote leaves the lease");
        let pass = lease
            .admit_vote(now + LEASE)
            .expect("an expired lease lets votes through");
        lease.confirmed(Instant::now());
        assert!(
            !lease.holds(Instant::now()),
            "no lease while a vote is with Raft, even from a new confirmation"
        );
        let before_answer = Instant::now();
        drop(pass);
        lease.confirmed(before_answer);
        assert!(
            !lease.holds(Instant::now()),
            "a confirmation that started before the vote was answered grants nothing"
        );
        let after_answer = Instant::now() + Duration::from_millis(1);
        lease.confirmed(after_answer);
        assert!(lease.holds(after_answer));
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
        lease.confirmed(start);
        let suspended = lease.suspend();
        assert!(!lease.holds(start));
        assert!(lease.admit_vote(start).is_some());
        lease.confirmed(Instant::now());
        assert!(!lease.holds(Instant::now()));
        drop(suspended);
        let later = Instant::now();
        lease.confirmed(later);
        assert!(lease.holds(later));
    }
}
