// The TOKEN actor: the single authority over one Keepa key's budget.
// Every stage asks it before it spends; it answers each acquire at once with
// a grant or a recharge-wait notice, so nobody waits on a thread.

#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <caf/actor_addr.hpp>

#include <caf/typed_event_based_actor.hpp>

#include "actors/token/token_scheduler.hpp"
#include "config/defaults.hpp"
#include "config/profile.hpp"
#include "messages/actors.hpp"

namespace keepa {

class pipeline_config;

/// Settings of the TOKEN actor.
struct token_config {
  /// The refill tiers; must not be empty.
  std::vector<profile> profiles;
  /// A profile name, or "auto" to follow the refill rate Keepa reports.
  std::string profile_name = defaults::profile;
  /// Ask /token only when no observation is fresher than this.
  duration max_observation_age = defaults::token::max_observation_age;
  duration stagger = defaults::token::stagger;
  duration ticket_grace = defaults::token::ticket_grace;
  duration grant_ttl = defaults::token::grant_ttl;
  /// Retry time handed out while no observation exists, and while held.
  duration probe_retry = defaults::token::probe_retry;
  /// The admission rule; the default is the floor rule of the profiles.
  token_strategy strategy;
  /// `keepa.token.weight`: this process's weight among a budget server's
  /// consumers (a TOKEN LINK sends it); positive. An own TOKEN ignores it.
  int64_t weight = defaults::token::weight;
  /// Where to ask /token (the Keepa client); may be null, then the actor
  /// waits for the first settlement.
  token_probe_actor probe;
};

/// Reads `keepa.profile` and `keepa.token.*` from `cfg`.
token_config token_config_from(const pipeline_config& cfg);

caf::error validate(const token_config& cfg);

/// The scheduler policy a profile implies.
scheduler_policy policy_from(const profile& p, const token_config& cfg);

struct token_state {
  static constexpr const char* name = "token";

  token_config cfg;
  token_scheduler sched;
  const profile* active = nullptr;
  bool probing = false;
  uint64_t profile_switches = 0;
  /// Why TOKEN grants nothing now (`hold`); empty while it grants.
  std::string held;
  /// Holds received, and acquires answered with a hold's recharge-wait.
  uint64_t holds = 0;
  uint64_t held_acquires = 0;
  /// Who presented each waiting ticket: told `retry` with the ticket as
  /// soon as it may come back earlier than its recharge-wait said.
  std::map<uint64_t, caf::actor_addr> presenters;
  /// Such early retries sent.
  uint64_t wakes = 0;
  /// A `tick` to itself is on its way (wake_early once for many events).
  bool tick_pending = false;
  /// When the delayed `tick` for the next early ticket comes; max() if none.
  time_point wake_at = time_point::max();
  /// Who received each outstanding grant (issue 22): when an actor that
  /// holds grants goes down (a budget server's client process died or lost
  /// its connection), its grants end at once as unconfirmed charges, kept
  /// subtracted until the next observation, instead of after grant_ttl.
  std::map<uint64_t, caf::actor_addr> grant_owners;
  /// The actors monitored for that.
  std::set<caf::actor_addr> watched;
  /// Grants ended because their owner went down.
  uint64_t orphaned_grants = 0;
  /// Consumer processes (issue 22): each relay that asks (a request with a
  /// weight, or from another node) is one process of the scheduler,
  /// forgotten when it goes down. 0 is this process's own stages.
  std::map<caf::actor_addr, uint64_t> processes;
  uint64_t next_process = 1;
};

using token_pointer = token_actor::stateful_pointer<token_state>;

/// TOKEN's snapshot as the settings its `status` answers.
caf::settings token_settings(const token_status& st);

/// The behavior of the TOKEN actor.
token_actor::behavior_type token(token_pointer self, token_config cfg);

} // namespace keepa
