// What the four pipeline stages (scanner, peek-filter, committer, updater)
// share: the actors they talk to, the clock mapping, and the token gate —
// ask TOKEN, and on a recharge-wait schedule a retry to yourself instead of
// waiting. Each stage has at most one acquire outstanding; requests it has
// grants for run concurrently.

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
template <class Self>
int64_t unix_now_ms(Self self, const stage_context& ctx) {
  return ctx.unix0_ms
         + std::chrono::duration_cast<std::chrono::milliseconds>(
             self->clock().now() - ctx.t0)
             .count();
}

/// One outstanding token request of a stage.
struct token_gate {
  bool busy = false;
  token_request req;
  std::function<void(const token_grant&)> on_grant;
  /// Recharge-waits received; the balance the last one waited for.
  uint64_t waits = 0;
  int64_t waiting_for = 0;
  std::string last_error;
};

template <class Self>
void stage_log(Self self, const std::string& line) {
  auto& ctx = self->state.ctx;
  if (ctx.log)
    ctx.log(std::string{self->name()} + ": " + line);
}

/// Presents the gate's request (again) to TOKEN.
template <class Self>
void present(Self self) {
  auto& ctx = self->state.ctx;
  self->request(ctx.token, caf::infinite, atom::acquire_v, self->state.gate.req)
    .then(
      [self](token_reply& r) {
        auto& g = self->state.gate;
        if (auto* grant = caf::get_if<token_grant>(&r)) {
          g.busy = false;
          g.waiting_for = 0;
          auto f = std::move(g.on_grant);
          f(*grant);
          return;
        }
        auto& w = caf::get<recharge_wait>(r);
        g.req.ticket = w.ticket;
        g.waiting_for = w.needed;
        ++g.waits;
        self->delayed_send(self, w.retry_after, atom::retry_v, w.ticket);
      },
      [self](caf::error& err) {
        auto& g = self->state.gate;
        g.busy = false;
        g.last_error = render(err);
        stage_log(self, "TOKEN refused: " + g.last_error);
        self->state.on_token_error(err);
      });
}

/// Asks for tokens; `on_grant` runs once granted (never on this call).
template <class Self>
void acquire(Self self, stage what, int64_t cost,
             std::function<void(const token_grant&)> on_grant) {
  auto& g = self->state.gate;
  g.busy = true;
  g.req = token_request{self->name(), what, cost, 0};
  g.on_grant = std::move(on_grant);
  present(self);
}

/// The retry handler of every stage: present the ticket again.
template <class Self>
void on_retry(Self self, uint64_t ticket) {
  auto& g = self->state.gate;
  if (g.busy && g.req.ticket == ticket)
    present(self);
}

/// Runs `f(profile)` with the profile in force (TOKEN's active one unless
/// a profile is forced).
template <class Self, class F>
void with_profile(Self self, F f) {
  auto& ctx = self->state.ctx;
  if (ctx.profile_name != "auto") {
    if (auto* p = find_profile(ctx.profiles, ctx.profile_name)) {
      f(*p);
      return;
    }
  }
  self->request(ctx.token, caf::infinite, atom::snapshot_v)
    .then([self, f](token_status& st) mutable {
      auto& ctx = self->state.ctx;
      auto* p = find_profile(ctx.profiles, st.profile);
      if (p == nullptr)
        p = select_profile(ctx.profiles, st.refill_rate);
      if (p == nullptr)
        p = &ctx.profiles.front();
      f(*p);
    });
}

/// The stage counters as status settings, plus the gate.
inline void put_gate(caf::settings& xs, const token_gate& g) {
  xs.emplace("waiting-for-tokens", g.busy);
  xs.emplace("waiting-for", g.waiting_for);
  xs.emplace("recharge-waits", static_cast<int64_t>(g.waits));
  if (!g.last_error.empty())
    xs.emplace("last-error", g.last_error);
}

/// The feed position of a deal.
inline feed_position position_of(const deal& d) {
  return feed_position{d.last_update, d.asin};
}

} // namespace keepa
