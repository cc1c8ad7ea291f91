#include "actors/token/token.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/config_value.hpp>
#include <caf/settings.hpp>
#include <caf/typed_actor.hpp>

#include "actors/status.hpp"
#include "config/defaults.hpp"
#include "config/pipeline_config.hpp"
#include "messages/error.hpp"
#include "messages/keepa.hpp"
#include "messages/token.hpp"

namespace keepa {

token_config token_config_from(const pipeline_config& cfg) {
  token_config result;
  result.profiles = cfg.profiles;
  result.profile_name = caf::get_or(cfg, "keepa.profile",
                                    std::string{defaults::profile});
  auto get = [&](const char* key, duration fallback) {
    return std::chrono::duration_cast<duration>(
      caf::get_or(cfg, key, caf::timespan{fallback}));
  };
  result.max_observation_age = get("keepa.token.max-observation-age",
                                   defaults::token::max_observation_age);
  result.stagger = get("keepa.token.stagger", defaults::token::stagger);
  result.ticket_grace = get("keepa.token.ticket-grace",
                            defaults::token::ticket_grace);
  result.grant_ttl = get("keepa.token.grant-ttl", defaults::token::grant_ttl);
  result.probe_retry = get("keepa.token.probe-retry",
                           defaults::token::probe_retry);
  result.weight = caf::get_or(cfg, "keepa.token.weight",
                              defaults::token::weight);
  return result;
}

caf::error validate(const token_config& cfg) {
  if (cfg.profiles.empty())
    return caf::make_error(ec::invalid_config, "token: no profiles");
  for (auto& p : cfg.profiles)
    if (auto err = validate(p))
      return err;
  if (cfg.profile_name != "auto"
      && !find_profile(cfg.profiles, cfg.profile_name))
    return caf::make_error(ec::unknown_profile,
                           "no profile named \"" + cfg.profile_name + "\"");
  auto positive = [](duration d) { return d > duration::zero(); };
  if (!positive(cfg.max_observation_age) || !positive(cfg.stagger)
      || !positive(cfg.ticket_grace) || !positive(cfg.grant_ttl)
      || !positive(cfg.probe_retry))
    return caf::make_error(ec::invalid_config,
                           "keepa.token.* durations must be positive");
  if (cfg.weight < 1 || cfg.weight > defaults::token::max_weight)
    return caf::make_error(ec::invalid_config,
                           "keepa.token.weight: expected a whole number from "
                           "1 to "
                             + std::to_string(defaults::token::max_weight)
                             + ", got " + std::to_string(cfg.weight));
  auto& x = cfg.strategy;
  if (x.min_interval < duration::zero())
    return caf::make_error(ec::invalid_config,
                           "token strategy: negative minimum interval");
  if (x.rule == token_strategy::admission::hysteresis
      && (x.stop_below < 1 || x.resume_at < x.stop_below))
    return caf::make_error(ec::invalid_config,
                           "token strategy: need 1 <= stop-below <= "
                           "resume-at (Keepa refuses at a balance <= 0)");
  return caf::none;
}

scheduler_policy policy_from(const profile& p, const token_config& cfg) {
  scheduler_policy result;
  result.floor = p.floor;
  for (size_t i = 0; i < p.priority.size(); ++i)
    result.rank[static_cast<size_t>(p.priority[i])] = static_cast<int>(i);
  result.rank[static_cast<size_t>(stage::update)] = 3;
  result.updater_share = p.updater_share;
  result.stagger = cfg.stagger;
  result.ticket_grace = cfg.ticket_grace;
  result.grant_ttl = cfg.grant_ttl;
  result.no_observation_retry = cfg.probe_retry;
  result.strategy = cfg.strategy;
  return result;
}

namespace {

void activate(token_pointer self, const profile* p) {
  auto& st = self->state;
  if (p == nullptr || p == st.active)
    return;
  if (st.active != nullptr)
    ++st.profile_switches;
  st.active = p;
  st.sched.set_policy(policy_from(*p, st.cfg));
}

/// Follows the refill rate Keepa reports unless a profile is forced.
void follow_rate(token_pointer self) {
  auto& st = self->state;
  if (st.cfg.profile_name == "auto" && st.sched.bucket().has_observation())
    activate(self, select_profile(st.cfg.profiles, st.sched.bucket().rate()));
}

/// Tells the presenter of a waiting ticket that became grantable before
/// the retry time its recharge-wait said (`retry` with the ticket, as its
/// own timer would), and comes back when the next one may; forgets
/// presenters whose tickets no longer wait. Without it a request that
/// became affordable through a settle charging less than its grant idled
/// with the balance positive until its retry, up to a refill step later.
void wake_early(token_pointer self) {
  auto& st = self->state;
  if (!st.held.empty())
    return;
  auto now = self->clock().now();
  auto early = st.sched.earlier(now);
  for (auto ticket : early.due) {
    auto i = st.presenters.find(ticket);
    if (i == st.presenters.end())
      continue;
    // Anonymous: a typed actor may send() only to typed ones.
    if (auto to = caf::actor_cast<caf::actor>(i->second)) {
      ++st.wakes;
      caf::anon_send(to, atom::retry_v, ticket);
    }
  }
  if (early.next < st.wake_at) {
    st.wake_at = early.next;
    self->delayed_send(self, early.next - now, atom::tick_v);
  }
  for (auto i = st.presenters.begin(); i != st.presenters.end();)
    i = st.sched.queued(i->first) ? std::next(i) : st.presenters.erase(i);
}

/// Runs wake_early after the messages already in the mailbox: a stage
/// whose settle is followed by its next acquire keeps its place ahead of
/// the ones woken.
void wake_early_soon(token_pointer self) {
  auto& st = self->state;
  if (st.tick_pending)
    return;
  st.tick_pending = true;
  self->send(self, atom::tick_v);
}

void apply(token_pointer self, const settlement& s) {
  auto& st = self->state;
  st.sched.settle(s, self->clock().now());
  follow_rate(self);
  wake_early_soon(self);
}

/// Asks /token when no observation is fresh enough; otherwise the envelopes
/// of ordinary answers keep the projection current.
void maybe_probe(token_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (!st.cfg.probe || st.probing
      || !st.sched.stale(now, st.cfg.max_observation_age))
    return;
  st.probing = true;
  st.sched.count_probe();
  self->request(st.cfg.probe, std::chrono::seconds(30), atom::probe_v)
    .then(
      [self](const envelope& env) {
        self->state.probing = false;
        settlement s;
        s.tokens_left = env.tokens_left;
        s.refill_in_ms = env.refill_in_ms;
        s.refill_rate = env.refill_rate;
        s.token_flow_reduction = env.token_flow_reduction;
        s.server_timestamp_ms = env.timestamp_ms;
        keepa::apply(self, s); // Qualified: ADL would find std::apply.
      },
      [self](const caf::error&) {
        // The next acquire asks again; waiting callers retry on their own.
        self->state.probing = false;
      });
}

} // namespace

caf::settings token_settings(const token_status& st) {
  caf::settings result;
  result.emplace("projected", st.projected);
  result.emplace("outstanding", st.outstanding);
  result.emplace("refill-rate", st.refill_rate);
  result.emplace("cap", st.cap);
  result.emplace("floor", st.floor);
  result.emplace("profile", st.profile);
  result.emplace("mode", st.mode);
  result.emplace("waiting-for", st.waiting_for);
  result.emplace("next-refill", caf::timespan{st.next_refill});
  result.emplace("observation-age", caf::timespan{st.observation_age});
  std::vector<caf::config_value> queue;
  for (auto& w : st.queue) {
    caf::settings entry;
    entry.emplace("ticket", static_cast<int64_t>(w.ticket));
    entry.emplace("consumer", w.consumer);
    entry.emplace("stage", std::string{to_string(w.what)});
    entry.emplace("cost", w.cost);
    entry.emplace("eta", caf::timespan{w.eta});
    queue.emplace_back(std::move(entry));
  }
  result.emplace("queue", std::move(queue));
  std::vector<caf::config_value> consumers;
  for (auto& c : st.consumers) {
    caf::settings entry;
    entry.emplace("consumer", c.consumer);
    entry.emplace("weight", c.weight);
    entry.emplace("granted", c.granted);
    entry.emplace("consumed", c.consumed);
    entry.emplace("grants", static_cast<int64_t>(c.grants));
    entry.emplace("waiting", static_cast<int64_t>(c.waiting));
    entry.emplace("credit", c.credit);
    entry.emplace("share", c.share);
    entry.emplace("weight-share", c.weight_share);
    consumers.emplace_back(std::move(entry));
  }
  result.emplace("consumers", std::move(consumers));
  caf::settings totals;
  totals.emplace("granted", st.totals.granted);
  totals.emplace("consumed", st.totals.consumed);
  totals.emplace("released", st.totals.released);
  totals.emplace("lost-at-cap", st.totals.lost_at_cap);
  totals.emplace("grants", static_cast<int64_t>(st.totals.grants));
  totals.emplace("waits", static_cast<int64_t>(st.totals.waits));
  totals.emplace("settlements", static_cast<int64_t>(st.totals.settlements));
  totals.emplace("probes", static_cast<int64_t>(st.totals.probes));
  totals.emplace("settled-grants",
                 static_cast<int64_t>(st.totals.settled_grants));
  totals.emplace("released-grants",
                 static_cast<int64_t>(st.totals.released_grants));
  totals.emplace("expired-grants",
                 static_cast<int64_t>(st.totals.expired_grants));
  totals.emplace("unconfirmed", static_cast<int64_t>(st.totals.unconfirmed));
  totals.emplace("held-back", st.totals.held_back);
  totals.emplace("longest-held-back", st.totals.longest_held_back);
  for (size_t i = 0; i < st.totals.consumed_by_stage.size(); ++i)
    totals.emplace(std::string{"consumed-"} + to_string(static_cast<stage>(i)),
                   st.totals.consumed_by_stage[i]);
  result.emplace("totals", std::move(totals));
  return result;
}

namespace {

/// Remembers who received `grant_id` and watches it (once per actor).
void own(token_pointer self, uint64_t grant_id) {
  auto& st = self->state;
  auto who = self->current_sender();
  if (!who)
    return;
  // Only another process's actors: a local stage's grant is settled by
  // the local client even after the stage itself ended.
  if (who->node() == self->node())
    return;
  auto addr = caf::actor_cast<caf::actor_addr>(who);
  st.grant_owners.emplace(grant_id, addr);
  if (st.watched.insert(addr).second)
    self->monitor(addr);
}

/// The consumer process of the current acquire: 0 for this process's own
/// stages; the sending actor (a TOKEN LINK, the relay of one process) when
/// the request carries a weight or comes from another node. A new one is
/// named and watched, so it is forgotten when it goes down.
uint64_t process_of(token_pointer self, const token_request& req) {
  auto& st = self->state;
  auto who = self->current_sender();
  if (!who || (req.weight <= 0 && who->node() == self->node()))
    return 0;
  auto addr = caf::actor_cast<caf::actor_addr>(who);
  auto i = st.processes.find(addr);
  if (i != st.processes.end())
    return i->second;
  auto id = st.next_process++;
  st.processes.emplace(addr, id);
  st.sched.name_process(id, caf::to_string(addr));
  if (st.watched.insert(addr).second)
    self->monitor(addr);
  return id;
}

/// Ends the grants of an actor that went down: Keepa may have run them, so
/// each stays subtracted as an unconfirmed charge until the next newer
/// observation (a settlement without an answer), and nobody waits for
/// their settle any longer.
void orphan(token_pointer self, const caf::actor_addr& who) {
  auto& st = self->state;
  st.watched.erase(who);
  auto now = self->clock().now();
  for (auto i = st.grant_owners.begin(); i != st.grant_owners.end();) {
    if (i->second != who) {
      ++i;
      continue;
    }
    settlement lost;
    lost.grant_id = i->first;
    if (st.sched.settle(lost, now))
      ++st.orphaned_grants;
    i = st.grant_owners.erase(i);
  }
  for (auto i = st.presenters.begin(); i != st.presenters.end();)
    i = i->second == who ? st.presenters.erase(i) : std::next(i);
  // A consumer process that went away: its waiting tickets would hold the
  // queue until their grace ran out, and its share record is gone.
  if (auto p = st.processes.find(who); p != st.processes.end()) {
    st.sched.forget(p->second, now);
    st.processes.erase(p);
  }
}

/// The name of the profile in force ("" before the first activation).
std::string active_profile(token_pointer self) {
  auto& st = self->state;
  return st.active ? st.active->name : "";
}

token_status snapshot(token_pointer self) {
  auto result = self->state.sched.status(self->clock().now());
  result.profile = active_profile(self);
  if (!self->state.held.empty())
    result.mode = "held";
  return result;
}

/// The answer to every acquire while held: come back after `probe_retry`
/// with the same ticket (its place in the queue may lapse meanwhile).
recharge_wait held_wait(token_pointer self, const token_request& req) {
  auto& st = self->state;
  ++st.held_acquires;
  recharge_wait result;
  result.ticket = req.ticket;
  result.retry_after = st.cfg.probe_retry;
  result.reason = "held: " + st.held;
  return result;
}

} // namespace

token_actor::behavior_type token(token_pointer self, token_config cfg) {
  if (auto err = validate(cfg)) {
    self->quit(err);
    return token_actor::behavior_type::make_empty_behavior();
  }
  auto& st = self->state;
  st.cfg = std::move(cfg);
  // Until Keepa reports a rate, run on the forced or the lowest profile.
  activate(self,
           st.cfg.profile_name == "auto"
             ? &st.cfg.profiles.front()
             : find_profile(st.cfg.profiles, st.cfg.profile_name));
  maybe_probe(self);
  self->set_down_handler([self](caf::down_msg& msg) {
    orphan(self, msg.source);
    wake_early_soon(self);
  });
  return {
    [self](atom::acquire,
           const token_request& req) -> caf::result<token_reply> {
      if (!self->state.held.empty())
        return token_reply{held_wait(self, req)};
      maybe_probe(self);
      auto& st = self->state;
      auto d = st.sched.acquire(req, self->clock().now(),
                                process_of(self, req));
      if (d.error == ec::none && !d.granted)
        st.presenters[d.wait.ticket]
          = caf::actor_cast<caf::actor_addr>(self->current_sender());
      if (d.error != ec::none)
        return caf::make_error(d.error,
                               req.consumer + " asked for "
                                 + std::to_string(req.cost) + " tokens");
      if (d.granted) {
        own(self, d.grant.grant_id);
        d.grant.profile = active_profile(self);
        return token_reply{std::move(d.grant)};
      }
      return token_reply{d.wait};
    },
    [self](atom::settle, const settlement& s) {
      self->state.grant_owners.erase(s.grant_id);
      keepa::apply(self, s);
    },
    [self](atom::release, uint64_t grant_id) {
      self->state.grant_owners.erase(grant_id);
      self->state.sched.release(grant_id, self->clock().now());
      wake_early_soon(self);
    },
    [self](atom::tick) {
      auto& st = self->state;
      st.tick_pending = false;
      if (self->clock().now() >= st.wake_at)
        st.wake_at = time_point::max();
      wake_early(self);
    },
    [self](atom::hold, std::string& why) {
      auto& st = self->state;
      if (st.held.empty())
        ++st.holds;
      st.held = why.empty() ? "unnamed" : std::move(why);
    },
    [self](atom::resume) { self->state.held.clear(); },
    [self](atom::snapshot) -> token_status { return snapshot(self); },
    [self](atom::status) -> caf::settings {
      auto& st = self->state;
      auto xs = token_settings(snapshot(self));
      if (!st.held.empty())
        xs.emplace("held", st.held);
      xs.emplace("holds", static_cast<int64_t>(st.holds));
      // refill-rate is the net rate; what Keepa reported beside it:
      xs.emplace("gross-refill-rate", st.sched.bucket().gross_rate());
      xs.emplace("flow-reduction", st.sched.bucket().flow_reduction());
      xs.emplace("held-acquires", static_cast<int64_t>(st.held_acquires));
      xs.emplace("early-retries", static_cast<int64_t>(st.wakes));
      xs.emplace("orphaned-grants", static_cast<int64_t>(st.orphaned_grants));
      put_mailbox(self, xs);
      return xs;
    },
  };
}

} // namespace keepa
