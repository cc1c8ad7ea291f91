// The TOKEN protocol: how every stage asks before it spends Keepa tokens.
//
//   stage --acquire(token_request)--> TOKEN
//   TOKEN --token_grant | recharge_wait--> stage   (a grant names the
//                                                  active profile)
//   client --settle(settlement)--> TOKEN        after every Keepa answer
//   stage/client --release(grant_id)--> TOKEN   when a grant was never used
//
// Several processes on one budget (issue 22): each process's TOKEN LINK
// relays its stages' acquires to the budget server's TOKEN with its
// `weight` (--keepa.token.weight) set; the server takes the relaying actor
// as the consumer process and shares the budget between processes in
// proportion to their weights. A local stage leaves `weight` 0.
//
// A recharge_wait carries a ticket and an exact `retry_after`; the caller
// schedules its own retry (a delayed message to itself) and presents the
// ticket again. Nothing ever waits on a thread while the bucket refills.

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/timespan.hpp>
#include <caf/variant.hpp>

#include "messages/fwd.hpp"

namespace keepa {

/// Who spends tokens, in default priority order (commit first). The updater
/// is not ranked: it gets a configurable share of the budget instead.
enum class stage : uint8_t {
  commit = 0,
  peek = 1,
  scan = 2,
  update = 3,
};

constexpr size_t num_stages = 4;

/// @relates stage
const char* to_string(stage x);

/// Parses "commit", "peek", "scan" or "update".
bool from_string(const std::string& str, stage& x);

/// Asks the TOKEN actor for `cost` tokens.
struct token_request {
  /// Human-readable name of the asking actor, for status output.
  std::string consumer;
  /// Which pipeline stage asks; decides the priority.
  stage what = stage::scan;
  /// Worst-case cost of the request about to be sent.
  int64_t cost = 0;
  /// 0 for a new request; otherwise the ticket of an earlier recharge_wait.
  uint64_t ticket = 0;
  /// The asking process's weight (> 0), set by a TOKEN LINK: the budget
  /// server shares tokens between consumer processes in proportion to it.
  /// 0 = a stage of TOKEN's own process.
  int64_t weight = 0;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, token_request& x) {
  return f(caf::meta::type_name("token_request"), x.consumer, x.what, x.cost,
           x.ticket, x.weight);
}

/// Permission to send one request now.
struct token_grant {
  /// Present this id in `settle` or `release`.
  uint64_t grant_id = 0;
  /// Tokens reserved for the request (the requested worst-case cost).
  int64_t cost = 0;
  /// The projected balance once this grant is spent.
  int64_t projected_after = 0;
  /// The profile in force when TOKEN granted (token_status::profile), so
  /// that stages size their next requests without asking for a snapshot.
  std::string profile;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, token_grant& x) {
  return f(caf::meta::type_name("token_grant"), x.grant_id, x.cost,
           x.projected_after, x.profile);
}

/// Not now: come back with `ticket` after `retry_after`.
struct recharge_wait {
  /// The caller's place in the queue; present it again in `acquire`.
  uint64_t ticket = 0;
  /// Relative time after which presenting the ticket is granted, unless a
  /// settle lowers the balance or a higher-priority request arrives first.
  caf::timespan retry_after{0};
  /// The projected balance the request waits for.
  int64_t needed = 0;
  /// Why: "recharging", "queued behind <stage>", "no observation", ...
  std::string reason;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, recharge_wait& x) {
  return f(caf::meta::type_name("recharge_wait"), x.ticket, x.retry_after,
           x.needed, x.reason);
}

/// What Keepa said in an answer's envelope. With `grant_id == 0` this is a
/// plain observation (e.g. from the free /token endpoint).
struct settlement {
  uint64_t grant_id = 0;
  /// `tokensConsumed`: what the request actually cost.
  int64_t tokens_consumed = 0;
  /// `tokensLeft`: the balance after the request (may be negative).
  int64_t tokens_left = 0;
  /// `refillIn`: milliseconds until the next refill step.
  int64_t refill_in_ms = 0;
  /// `refillRate`: tokens per minute.
  int64_t refill_rate = 0;
  /// `timestamp`: server time in Unix milliseconds; orders observations.
  /// 0 = no answer was read (timeout, reset, broken body): Keepa may have
  /// charged `tokens_consumed` (with a grant: the grant's cost), so TOKEN
  /// keeps that amount subtracted until a newer observation arrives.
  int64_t server_timestamp_ms = 0;
  /// Keepa refused the request (HTTP 429: the balance was not positive,
  /// whatever the envelope says). It cost nothing; TOKEN backs off.
  bool refused = false;
  /// `tokenFlowReduction`: how much trackings lower the refill (tokens per
  /// minute). TOKEN takes `refill_rate` as gross (Q9, keepa-api.md) and
  /// plans with refill_rate - token_flow_reduction.
  double token_flow_reduction = 0;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, settlement& x) {
  return f(caf::meta::type_name("settlement"), x.grant_id, x.tokens_consumed,
           x.tokens_left, x.refill_in_ms, x.refill_rate, x.server_timestamp_ms,
           x.refused, x.token_flow_reduction);
}

/// One request waiting in the TOKEN actor's queue.
struct waiting_entry {
  uint64_t ticket = 0;
  std::string consumer;
  stage what = stage::scan;
  int64_t cost = 0;
  /// Projected time until this entry is granted, given the queue ahead of it.
  caf::timespan eta{0};
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, waiting_entry& x) {
  return f(caf::meta::type_name("waiting_entry"), x.ticket, x.consumer, x.what,
           x.cost, x.eta);
}

/// Running totals of the TOKEN actor since start.
struct token_totals {
  /// Tokens handed out in grants (worst-case costs).
  int64_t granted = 0;
  /// Tokens Keepa reported as consumed in settlements.
  int64_t consumed = 0;
  /// Tokens of grants released unused.
  int64_t released = 0;
  /// Refill tokens projected to be lost because the bucket was full.
  int64_t lost_at_cap = 0;
  /// Number of grants, recharge-waits, settlements and /token probes.
  uint64_t grants = 0;
  uint64_t waits = 0;
  uint64_t settlements = 0;
  uint64_t probes = 0;
  /// How grants ended: every grant is settled, released or expired exactly
  /// once, so grants == settled_grants + released_grants + expired_grants
  /// + outstanding grants.
  uint64_t settled_grants = 0;
  uint64_t released_grants = 0;
  uint64_t expired_grants = 0;
  /// Settlements without an answer (charge unknown, kept as unconfirmed).
  uint64_t unconfirmed = 0;
  /// Tokens consumed per stage, indexed by `stage`.
  std::vector<int64_t> consumed_by_stage;
  /// Time in which a request waited while the projected balance was
  /// positive (Keepa would have run it) and nothing was granted: in total,
  /// and the longest such span.
  caf::timespan held_back{0};
  caf::timespan longest_held_back{0};
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, token_totals& x) {
  return f(caf::meta::type_name("token_totals"), x.granted, x.consumed,
           x.released, x.lost_at_cap, x.grants, x.waits, x.settlements,
           x.probes, x.settled_grants, x.released_grants, x.expired_grants,
           x.unconfirmed, x.consumed_by_stage, x.held_back,
           x.longest_held_back);
}

/// One consumer process of a TOKEN (issue 22): a budget server's client
/// (its TOKEN LINK) or TOKEN's own process ("local"), with what it got.
struct consumer_share {
  /// The relaying actor as CAF prints it ("ID@NODE#PID", PID the
  /// pipeline's process id), or "local" for TOKEN's own stages.
  std::string consumer;
  int64_t weight = 1;
  /// Tokens granted (worst-case costs) and consumed (settled) since it
  /// first asked, and its grants.
  int64_t granted = 0;
  int64_t consumed = 0;
  uint64_t grants = 0;
  /// Its requests waiting now.
  uint64_t waiting = 0;
  /// Its admission credit now (tokens; negative: debt), 0 while it is the
  /// only active process (see token_scheduler).
  double credit = 0;
  /// Its part of the tokens consumed by all listed consumers (0..1), and
  /// its weight's part of all their weights.
  double share = 0;
  double weight_share = 0;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, consumer_share& x) {
  return f(caf::meta::type_name("consumer_share"), x.consumer, x.weight,
           x.granted, x.consumed, x.grants, x.waiting, x.credit, x.share,
           x.weight_share);
}

/// Snapshot of the TOKEN actor.
struct token_status {
  /// Projected balance now, outstanding grants already subtracted.
  int64_t projected = 0;
  /// Tokens granted but not yet settled or released.
  int64_t outstanding = 0;
  int64_t refill_rate = 0;
  int64_t cap = 0;
  int64_t floor = 0;
  std::string profile;
  /// "spending", "recharging" or "unknown" (no observation yet).
  std::string mode;
  /// The balance the head of the queue waits for (0 if nobody waits).
  int64_t waiting_for = 0;
  /// Time until the next refill step.
  caf::timespan next_refill{0};
  /// Age of the newest observation from Keepa.
  caf::timespan observation_age{0};
  std::vector<waiting_entry> queue;
  token_totals totals;
  /// Per consumer process (issue 22), in order of first request; a process
  /// is forgotten when its relay goes down.
  std::vector<consumer_share> consumers;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, token_status& x) {
  return f(caf::meta::type_name("token_status"), x.projected, x.outstanding,
           x.refill_rate, x.cap, x.floor, x.profile, x.mode, x.waiting_for,
           x.next_refill, x.observation_age, x.queue, x.totals, x.consumers);
}

} // namespace keepa
