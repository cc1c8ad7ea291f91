// What the four pipeline stages (scanner, peek-filter, committer, updater)
// share: the actors they talk to, the clock mapping, and the token gate —
// ask TOKEN, and on a recharge-wait schedule a retry to yourself instead of
// waiting. Each stage has at most one acquire outstanding; requests it has
// grants for run concurrently.
//
// The profile a stage sizes its requests by is the forced one, or TOKEN's
// active one: every grant names it, so a stage asks TOKEN's snapshot only
// once, before its first request, and then follows its grants.
//
// A stage's state provides `ctx`, `gate`, `stop` (actors/stages/stop.hpp),
// `bool stoppable() const` and `void on_token_error(const caf::error&)`.

#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/settings.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/analysis/deal_analysis.hpp"
#include "actors/client/keepa_client.hpp"
#include "actors/stages/feed_cursor.hpp"
#include "actors/stages/stop.hpp"
#include "config/profile.hpp"
#include "messages/actors.hpp"
#include "messages/error.hpp"
#include "messages/token.hpp"

namespace keepa {

/// Everything a stage needs besides its own settings.
struct stage_context {
  token_actor token;
  keepa_client_actor client;
  storage_actor storage;
  std::vector<profile> profiles;
  /// "auto" follows TOKEN's active profile; otherwise a profile name.
  std::string profile_name = "auto";
  std::shared_ptr<const analysis_config> analysis;
  log_sink log;
  /// The actor clock's `t0` is Unix time `unix0_ms` (virtual in tests).
  caf::actor_clock::time_point t0;
  int64_t unix0_ms = 0;
  int32_t domain = 1;
};

/// Unix milliseconds on the actor clock.
template<class Self>
int64_t unix_now_ms(Self self, const stage_context& ctx) {
  return ctx.unix0_ms
    + std::chrono::duration_cast<std::chrono::milliseconds>(self->clock().now()
                                                            - ctx.t0)
        .count();
}

/// A stage's one conversation with TOKEN at a time.
struct token_gate {
  enum class phase : uint8_t {
    /// Nothing asked.
    idle,
    /// Asking TOKEN's snapshot for the profile in force (once, before the
    /// first request is sized).
    sizing,
    /// An acquire sent; TOKEN's answer is outstanding.
    asking,
    /// A recharge-wait received; a retry to self is scheduled.
    recharging,
  };

  phase state = phase::idle;
  token_request req;
  std::function<void(const token_grant&)> on_grant;
  /// The profile the latest grant named (before the first grant: TOKEN's
  /// snapshot); empty until known.
  std::string profile;
  /// Recharge-waits received; the balance the last one waited for.
  uint64_t waits = 0;
  int64_t waiting_for = 0;
  std::string last_error;

  /// Waiting for TOKEN in any way.
  bool busy() const {
    return state != phase::idle;
  }

  /// No answer from TOKEN is outstanding: idle, or a recharge-wait whose
  /// retry is scheduled.
  bool settled() const {
    return state == phase::idle || state == phase::recharging;
  }
};

template<class Self>
void stage_log(Self self, log_level level, const std::string& line) {
  auto& ctx = self->state.ctx;
  if (ctx.log)
    ctx.log(level, std::string{self->name()} + ": " + line);
}

/// An info record.
template<class Self>
void stage_log(Self self, const std::string& line) {
  stage_log(self, log_level::info, line);
}

/// TOKEN's answer to the gate's acquire was an error.
template<class Self>
void on_gate_error(Self self, const caf::error& err) {
  auto& g = self->state.gate;
  g.state = token_gate::phase::idle;
  g.last_error = render(err);
  stage_log(self, log_level::error, "TOKEN refused: " + g.last_error);
  self->state.on_token_error(err);
  settle_stop(self);
}

/// Presents the gate's request (again) to TOKEN.
template<class Self>
void present(Self self) {
  auto& ctx = self->state.ctx;
  self->state.gate.state = token_gate::phase::asking;
  self->request(ctx.token, caf::infinite, atom::acquire_v, self->state.gate.req)
    .then(
      [self](token_reply& r) {
        auto& g = self->state.gate;
        if (auto* grant = caf::get_if<token_grant>(&r)) {
          g.state = token_gate::phase::idle;
          g.waiting_for = 0;
          if (!grant->profile.empty())
            g.profile = grant->profile;
          auto f = std::move(g.on_grant);
          f(*grant);
          return;
        }
        auto& w = caf::get<recharge_wait>(r);
        g.state = token_gate::phase::recharging;
        g.req.ticket = w.ticket;
        g.waiting_for = w.needed;
        ++g.waits;
        self->delayed_send(self, w.retry_after, atom::retry_v, w.ticket);
        settle_stop(self);
      },
      [self](caf::error& err) { on_gate_error(self, err); });
}

/// Asks for tokens; `on_grant` runs once granted (never on this call).
template<class Self>
void acquire(Self self, stage what, int64_t cost,
             std::function<void(const token_grant&)> on_grant) {
  auto& g = self->state.gate;
  g.req = token_request{self->name(), what, cost, 0};
  g.on_grant = std::move(on_grant);
  present(self);
}

/// The retry handler of every stage: present the ticket again (also after
/// `stop`: TOKEN then drops the ticket, and the grant is released).
template<class Self>
void on_retry(Self self, uint64_t ticket) {
  auto& g = self->state.gate;
  if (g.state == token_gate::phase::recharging && g.req.ticket == ticket)
    present(self);
}

/// After `stop`, gives a grant back unused; returns whether it did.
template<class Self>
bool release_after_stop(Self self, const token_grant& g) {
  auto& st = self->state;
  if (!st.stop.stopping())
    return false;
  self->send(st.ctx.token, atom::release_v, g.grant_id);
  return true;
}

/// The profile a stage sizes by when known without asking: the forced one,
/// else the one its latest grant named; nullptr before the first grant.
inline const profile* known_profile(const stage_context& ctx,
                                    const token_gate& g) {
  if (ctx.profile_name != "auto")
    if (auto* p = find_profile(ctx.profiles, ctx.profile_name))
      return p;
  return g.profile.empty() ? nullptr : find_profile(ctx.profiles, g.profile);
}

/// The profile TOKEN's snapshot names (by refill rate if it names none).
inline const profile& profile_of(const stage_context& ctx,
                                 const token_status& st) {
  auto* p = find_profile(ctx.profiles, st.profile);
  if (p == nullptr)
    p = select_profile(ctx.profiles, st.refill_rate);
  return p != nullptr ? *p : ctx.profiles.front();
}

/// Runs `f(profile)` with the profile in force: at once when known (see
/// known_profile), else after asking TOKEN's snapshot (the gate is busy
/// meanwhile).
template<class Self, class F>
void with_profile(Self self, F f) {
  auto& st = self->state;
  if (auto* p = known_profile(st.ctx, st.gate)) {
    f(*p);
    return;
  }
  st.gate.state = token_gate::phase::sizing;
  self->request(st.ctx.token, caf::infinite, atom::snapshot_v)
    .then(
      [self, f](token_status& ts) mutable {
        auto& g = self->state.gate;
        g.state = token_gate::phase::idle;
        auto& p = profile_of(self->state.ctx, ts);
        g.profile = p.name;
        f(p);
      },
      [self](caf::error& err) { on_gate_error(self, err); });
}

/// The gate as status settings.
inline void put_gate(caf::settings& xs, const token_gate& g) {
  xs.emplace("waiting-for-tokens", g.busy());
  xs.emplace("waiting-for", g.waiting_for);
  xs.emplace("recharge-waits", static_cast<int64_t>(g.waits));
  if (!g.last_error.empty())
    xs.emplace("last-error", g.last_error);
}

} // namespace keepa
