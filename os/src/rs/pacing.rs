//! Restart pacing (manifest data): the first restart at once, later ones after an exponential
//! backoff with a cap; an incarnation that ran long enough resets the backoff; more restarts than
//! the intensity limit within its period escalates to giving up (Erlang/OTP style).

use kernel_sim::Micros;
use kernel_sim::manifest::RestartPacing;
use std::collections::VecDeque;

/// What to do after a death.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Restart at this time.
    RestartAt(Micros),
    /// Too many restarts too fast: stop trying.
    GiveUp,
}

/// One service's restart history.
pub struct Pacing {
    rules: RestartPacing,
    /// Deaths since the backoff was last reset.
    consecutive: u32,
    /// Times of recent restarts, for the intensity limit.
    recent: VecDeque<Micros>,
}

impl std::fmt::Debug for Pacing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacing").field("consecutive", &self.consecutive).field("recent", &self.recent).finish()
    }
}

impl Pacing {
    /// No history yet.
    pub fn new(rules: RestartPacing) -> Pacing {
        Pacing { rules, consecutive: 0, recent: VecDeque::new() }
    }

    /// A death at `now` of an incarnation that ran for `ran_for`.
    ///
    /// A restart on recovered state (rolled back or suppressed) is due at once: that state is the
    /// checkpoint the server already ran from, so restarting it cannot loop at start, and what
    /// crashes it again is a request (answered, and bounded by the retry budget). Only a fresh
    /// restart backs off. Both count against the intensity limit.
    pub fn on_death(&mut self, now: Micros, ran_for: Micros, recovered_state: bool) -> Verdict {
        if ran_for >= self.rules.min_run {
            self.consecutive = 0;
        }
        while self.recent.front().is_some_and(|&t| now.saturating_sub(t) > self.rules.intensity_period) {
            self.recent.pop_front();
        }
        if self.recent.len() as u32 >= self.rules.intensity {
            return Verdict::GiveUp;
        }
        let delay = match self.consecutive {
            _ if recovered_state => 0,
            0 => self.rules.first_delay,
            n => self.rules.backoff.saturating_mul(1 << (n - 1).min(20)).min(self.rules.max_delay),
        };
        self.consecutive += 1;
        self.recent.push_back(now);
        Verdict::RestartAt(now + delay)
    }

    /// How many restarts its intensity allows within one period.
    pub fn intensity(&self) -> u32 {
        self.rules.intensity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> RestartPacing {
        RestartPacing {
            first_delay: 0,
            backoff: 100,
            max_delay: 350,
            min_run: 1_000,
            intensity: 4,
            intensity_period: 10_000,
        }
    }

    #[test]
    fn first_at_once_then_exponential_backoff_capped() {
        let mut p = Pacing::new(rules());
        assert_eq!(p.on_death(0, 0, false), Verdict::RestartAt(0));
        assert_eq!(p.on_death(10, 0, false), Verdict::RestartAt(110));
        assert_eq!(p.on_death(200, 0, false), Verdict::RestartAt(400));
        assert_eq!(p.on_death(500, 0, false), Verdict::RestartAt(850), "400 capped at 350");
    }

    #[test]
    fn a_long_run_resets_the_backoff() {
        let mut p = Pacing::new(rules());
        p.on_death(0, 0, false);
        p.on_death(10, 0, false);
        assert_eq!(p.on_death(20_000, 5_000, false), Verdict::RestartAt(20_000));
    }

    #[test]
    fn too_many_restarts_in_the_period_gives_up() {
        let mut p = Pacing::new(rules());
        for t in 0..4 {
            assert!(matches!(p.on_death(t * 10, 0, false), Verdict::RestartAt(_)));
        }
        assert_eq!(p.on_death(50, 0, false), Verdict::GiveUp);
        // Outside the period, the count starts over.
        assert!(matches!(Pacing::new(rules()).on_death(50_000, 0, false), Verdict::RestartAt(_)));
    }

    #[test]
    fn a_restart_on_recovered_state_is_due_at_once_and_still_counts() {
        let mut p = Pacing::new(rules());
        assert_eq!(p.on_death(0, 0, false), Verdict::RestartAt(0));
        assert_eq!(p.on_death(10, 0, true), Verdict::RestartAt(10), "no backoff");
        assert_eq!(p.on_death(20, 0, false), Verdict::RestartAt(220), "a fresh restart still backs off");
        assert_eq!(p.on_death(30, 0, true), Verdict::RestartAt(30));
        assert_eq!(p.on_death(40, 0, true), Verdict::GiveUp, "the intensity limit holds");
    }
}
