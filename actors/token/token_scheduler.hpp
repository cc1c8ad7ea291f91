// Who gets Keepa tokens next: the TOKEN actor's queue, grants and admission
// rule as a plain class. Time is always an argument.

#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "actors/token/token_bucket.hpp"
#include "config/defaults.hpp"
#include "messages/error.hpp"
#include "messages/token.hpp"

namespace keepa {

/// How TOKEN decides that a request may start. The default is ours, the
/// floor rule; the others re-implement the seeds' token managers, so that
/// keepa-bench runs the same stages under each of them.
struct token_strategy {
  enum class admission : uint8_t {
    /// Positive, and at or above the profile's floor after the cost.
    floor,
    /// Spend while the balance is at least `stop_below`, whatever the cost;
    /// once it is below, wait (recharge mode) until it is back at
    /// `resume_at`. The floor does not apply.
    hysteresis,
  };

  admission rule = admission::floor;
  int64_t stop_below = 1;
  int64_t resume_at = 1;
  /// Least time between two grants, on top of the rule; zero = none.
  duration min_interval = duration::zero();

  /// Stops below `stop_below`, resumes at `resume_at` (seed 003: 50/55;
  /// seed 000's burst mode: 1/40; the Python client: 1/1).
  static token_strategy hysteresis(int64_t stop_below, int64_t resume_at) {
    return {admission::hysteresis, stop_below, resume_at, duration::zero()};
  }

  /// The floor rule with grants at least `d` apart (seed 004: 60 s).
  static token_strategy paced(duration d) {
    return {admission::floor, 1, 1, d};
  }
};

/// The knobs of token_scheduler; a profile supplies most of them.
struct scheduler_policy {
  /// Lowest balance a request may drive the account to (Keepa itself has no
  /// documented floor; this is our safety margin). Must be negative.
  int64_t floor = -180;
  /// Rank of commit, peek and scan (lower is served first); indexed by stage.
  std::array<int, num_stages> rank{{0, 1, 2, 3}};
  /// Share of the budget the updater gets while others also wait (0..1).
  double updater_share = 0.2;
  /// Spacing between retry times of queued requests that become affordable
  /// at the same refill step, so they return in queue order.
  duration stagger = defaults::token::stagger;
  /// A ticket not presented again this long after its retry time is dropped.
  duration ticket_grace = defaults::token::ticket_grace;
  /// A grant neither settled nor released this long is assumed spent and
  /// forgotten (its cost is then part of any later observation).
  duration grant_ttl = defaults::token::grant_ttl;
  /// Retry time handed out while no observation exists yet.
  duration no_observation_retry = defaults::token::probe_retry;
  /// Longest wait after 429s in a row (the wait doubles from one refill
  /// step).
  duration refusal_backoff_max = defaults::token::refusal_backoff_max;
  /// The admission rule.
  token_strategy strategy;
};

/// The admission rule and queue of the TOKEN actor:
/// - a request may start only while the projected balance, with granted but
///   unsettled tokens counted as spent, is positive (Keepa's rule) and stays
///   at or above the floor after the request's cost;
/// - waiting requests are served strictly in pick order: by stage rank, then
///   arrival; the updater goes first while its part of the recently granted
///   tokens is below its share, and gets everything when nobody else waits;
/// - a recharge_wait's retry_after is the exact time the request becomes
///   grantable if everyone ahead returns on time and no settle lowers the
///   balance.
/// Another `strategy` replaces the first rule (see token_strategy).
///
/// Consumer processes (issue 22): every request belongs to a process (0 =
/// TOKEN's own stages; a budget server numbers its clients). Which process
/// is served next is decided by weighted fair queuing with start tags: a
/// process's next request starts at max(V, its last finish tag), where V is
/// the start tag of the latest grant, and finishes cost/weight later
/// (corrected to the consumed cost at settle, to 0 at release); the waiting
/// process with the least start tag goes first, ties by arrival. It is
/// work-conserving (only waiting processes compete) and an idle process
/// builds no credit (its start is never before V). Inside a process the
/// order above holds (stage rank, updater share). With one process the
/// order is exactly the one without processes.
///
/// Admission by weight (issue 22): queuing alone orders only requests
/// that wait, and closed-loop processes rarely wait while a refill step's
/// tokens last: the fastest asker would take each step. So while more than
/// one process is active (it has a waiting ticket or asked within the last
/// refill period) each holds a credit: the tokens nobody is owed (the
/// balance less what is granted and the positive credits: a refill step,
/// whether the projection or an answer shows it first, or the balance a
/// restarted server learns) are shared among the active processes by
/// weight; when the active processes change, the step on hand is shared
/// again by the new weights, counting what each was granted since the
/// step. A grant takes its cost, a settle or release gives back what was
/// not charged; credit and debt are bounded by credit_steps steps of its
/// part, an inactive process's credit is dropped. A request needs,
/// besides the rule above, its process's credit to cover it (or its part
/// of a step, if the cost is larger), or the projected balance less the
/// other active processes' positive credits to allow it (it borrows what
/// nobody is owed: work-conserving). A request waiting for credit does not
/// hold up other processes' requests behind it, but it does its own
/// process's (the stage order holds); its retry time is the refill step at
/// which its credit covers it. With a single active process none of this
/// applies.
///
/// It also measures how long requests were held back: spans of time in
/// which some request waited, the projected balance was positive (Keepa
/// would have run it) and nothing was granted.
class token_scheduler {
public:
  /// Waiting tickets that may come back before the retry time they were
  /// told (see earlier()).
  struct early {
    /// Grantable now: their owners must be told now.
    std::vector<uint64_t> due;
    /// The next planned time, after now, that lies before its ticket's
    /// retry time: ask earlier() again then. max() if none.
    time_point next = time_point::max();
  };

  /// Result of an acquire.
  struct decision {
    /// ec::none on a grant or wait.
    ec error = ec::none;
    bool granted = false;
    token_grant grant;
    recharge_wait wait;
  };

  explicit token_scheduler(scheduler_policy policy = {});

  // -- modifiers --------------------------------------------------------------

  /// Replaces the policy (profile switch); the queue keeps its order.
  void set_policy(const scheduler_policy& policy);

  /// A request of `process` (0 = TOKEN's own stages); a positive
  /// `req.weight` becomes the process's weight (otherwise 1).
  decision acquire(const token_request& req, time_point now,
                   uint64_t process = 0);

  /// Names `process` in status output.
  void name_process(uint64_t process, std::string name);

  /// A consumer process went away: drops its waiting tickets and its
  /// share record (its grants are ended by the caller, e.g. settled as
  /// unanswered). Returns the number of tickets dropped.
  size_t forget(uint64_t process, time_point now);

  /// Applies an answer's envelope; removes the grant. Returns false if the
  /// grant id is unknown (the observation is still used).
  bool settle(const settlement& s, time_point now);

  /// Returns an unused grant. Returns false if the id is unknown.
  bool release(uint64_t grant_id, time_point now);

  /// Drops expired tickets and grants; accounts tokens lost at the cap.
  void tick(time_point now);

  /// Waiting tickets whose planned grant time lies before the retry time
  /// they were told last (a settle charged less than was granted, a
  /// release, an expired ticket ahead, another process's credit dropped
  /// as it went inactive): unless their owners are told, the
  /// request idles with the balance positive until its retry. `due` holds
  /// those grantable now (in pick order only the first can be), each
  /// reported once until its next recharge-wait; the others are left for
  /// `next`, since a more important request may arrive meanwhile.
  early earlier(time_point now);

  /// Counts a /token probe in the totals.
  void count_probe() {
    ++totals_.probes;
  }

  // -- inspectors -------------------------------------------------------------

  const token_bucket& bucket() const {
    return bucket_;
  }

  const scheduler_policy& policy() const {
    return policy_;
  }

  /// Tokens granted but not yet settled or released, plus charges of lost
  /// answers not yet confirmed by an observation.
  int64_t outstanding() const {
    return outstanding_;
  }

  /// Projected balance at `t` with outstanding grants subtracted.
  int64_t projected(time_point t) const {
    return bucket_.projected(t) - outstanding_;
  }

  size_t waiting() const {
    return queue_.size();
  }

  /// Whether `ticket` waits in the queue.
  bool queued(uint64_t ticket) const;

  /// Whether the observation is missing or older than `max_age`, or says
  /// that nothing refills (rate 0) and is older than one refill step.
  bool stale(time_point now, duration max_age) const;

  /// HTTP 429s in a row (0 once a request ran).
  int refusals() const {
    return refusals_;
  }

  const token_totals& totals() const {
    return totals_;
  }

  /// Snapshot for status output (profile name is filled in by the actor).
  token_status status(time_point now) const;

  /// The balance a request of `cost` needs before it may start.
  int64_t needed(int64_t cost) const {
    return needed(cost, recharging_);
  }

private:
  struct entry {
    uint64_t ticket;
    uint64_t seq;
    uint64_t process;
    token_request req;
    /// The retry time last handed out.
    time_point retry_at;
    /// Reported by earlier() as due since the last recharge-wait.
    bool woken = false;
  };

  struct grant_info {
    int64_t cost;
    stage what;
    time_point issued;
    uint64_t process;
  };

  /// A consumer process: its weight, fair-queuing tag and updater share.
  struct process_info {
    std::string name;
    int64_t weight = 1;
    /// Finish tag of its latest grant (virtual time: tokens per weight).
    double finish = 0;
    /// Recently granted tokens (decayed per grant) of its updater and of
    /// its other stages; the updater is served first while its part is
    /// below its share. Decay bounds the memory, so an idle side builds no
    /// debt.
    double recent_update = 0;
    double recent_other = 0;
    int64_t granted = 0;
    int64_t consumed = 0;
    uint64_t grants = 0;
    /// Order of first request (status output).
    uint64_t since = 0;
    /// Admission credit (issue 22): its weight's part of the tokens nobody
    /// was owed while active, less what it was granted; bounded by
    /// credit_bound().
    double credit = 0;
    /// Granted less given back since the latest refill step (step_at_).
    double since_step = 0;
    /// Its latest request; min() before the first.
    time_point last_ask = time_point::min();
  };

  struct plan_item {
    const entry* e;
    time_point at;
  };

  /// Waiting entries in pick order with their planned grant times.
  std::vector<plan_item> plan(time_point now) const;

  /// Waiting entries in pick order: processes by start tag, inside each
  /// by rank and arrival with the updater's share.
  std::vector<const entry*> pick_order() const;

  /// One process's waiting entries in pick order (rank, arrival, updater
  /// share from `info`).
  std::vector<const entry*> process_order(std::vector<const entry*> xs,
                                          const process_info& info) const;

  /// Start tag of `p`'s next grant given the virtual time `v`.
  static double start_tag(const process_info& p, double v) {
    return std::max(v, p.finish);
  }

  /// Finish tag of `p`'s grant of `cost` starting at `start`.
  static double finish_tag(const process_info& p, double start, int64_t cost) {
    return start + static_cast<double>(cost) / static_cast<double>(p.weight);
  }

  /// Whether `p` counts in the credit shares at `now`: a waiting ticket,
  /// or a request within the last refill period.
  bool active(uint64_t id, const process_info& p, time_point now) const;

  /// Sum of the active processes' weights at `now` (0 if fewer than two
  /// are active: then credits do not apply and nothing changes).
  int64_t shared_weight(time_point now) const;

  /// Refill steps of credit (or debt) a process may hold: enough that a
  /// step's share not yet spent when the next comes is kept, little enough
  /// that an idle or slow process does not hoard.
  static constexpr int64_t credit_steps = 2;

  /// `p`'s part of one refill step among active processes of total weight
  /// `weights`.
  double credit_step(const process_info& p, int64_t weights) const;

  /// Largest credit or debt of a process: credit_steps of its part.
  double credit_bound(const process_info& p, int64_t weights) const;

  /// Shares the tokens nobody is owed among the active processes by
  /// weight (the whole refill step on hand when the active processes
  /// changed); drops inactive processes' credit.
  void credit_refill(time_point now);

  /// Adds `tokens` to `process`'s credit (clamped).
  void credit(uint64_t process, double tokens);

  /// Takes back `tokens` of `process`'s finish tag (charged less than
  /// granted).
  void refund(uint64_t process, int64_t tokens);

  int64_t needed(int64_t cost, bool recharging) const;

  /// acquire() and settle() without the held-back bookkeeping.
  decision acquire_impl(const token_request& req, time_point now,
                        uint64_t process);

  bool settle_impl(const settlement& s, time_point now);

  /// A 429: resyncs the bucket (balance not positive) and backs off.
  void refused(const settlement& s, time_point now);

  /// Hysteresis: enters recharge mode below `stop_below`, leaves it at
  /// `resume_at`.
  void update_mode(time_point now);

  /// Start of the held-back span running at `now` if nothing changed since
  /// the last event; time_point::max() if none.
  time_point held_from(time_point now) const;

  /// Called first in every event: extends or opens the held-back span.
  void begin_event(time_point now);

  /// Called last in every event: ends the span on a grant or when nothing
  /// affordable waits, opens one when something does.
  void end_event(time_point now, bool granted);

  token_grant make_grant(const entry& e, time_point now);

  void account_lost(time_point now);

  bool updater_behind(double recent_update, double recent_other) const;

  static void remember(bool update, int64_t cost, double& recent_update,
                       double& recent_other);

  scheduler_policy policy_;
  token_bucket bucket_;
  std::deque<entry> queue_;
  std::map<uint64_t, grant_info> grants_;
  /// Outstanding grants plus unconfirmed charges.
  int64_t outstanding_ = 0;
  /// Tokens Keepa may have charged for requests whose answer was lost;
  /// subtracted until the next newer observation.
  int64_t unconfirmed_ = 0;
  /// The consumer processes that asked (0 = own stages).
  std::map<uint64_t, process_info> processes_;
  uint64_t next_since_ = 0;
  /// Virtual time of fair queuing: the start tag of the latest grant.
  double vtime_ = 0;
  /// shared_weight() at the latest credit_refill().
  int64_t credit_weights_ = 0;
  /// The processes that held credits at the latest credit_refill().
  std::vector<uint64_t> credit_members_;
  /// The refill step process_info::since_step counts from.
  time_point step_at_ = time_point::min();
  uint64_t next_ticket_ = 1;
  uint64_t next_grant_ = 1;
  uint64_t next_seq_ = 1;
  token_totals totals_;
  time_point lost_accounted_;
  /// Hysteresis: below `stop_below` since the last resume.
  bool recharging_ = false;
  /// When the last grant was made (min_interval); min() before the first.
  time_point last_grant_ = time_point::min();
  /// 429s in a row: while positive, at most one grant per refill step.
  int refusals_ = 0;
  /// When the latest 429 arrived.
  time_point refused_at_ = time_point::min();
  /// No grant before this (backoff after 429s); min() = none.
  time_point hold_until_ = time_point::min();
  /// The held-back span: open since `held_since_`; `last_event_` is the
  /// time of the latest acquire, settle or release.
  bool held_ = false;
  time_point held_since_;
  time_point last_event_;
};

} // namespace keepa
