// A stage stand-in for the token tests and demo: always wants tokens (or a
// limited number of grants), spends a random actual cost <= its estimate
// against the bucket model, settles every answer, and retries exactly when
// told: at its recharge-wait's retry_after, or earlier when TOKEN sends
// `retry` with its ticket (like the stages, it presents a ticket only while
// it waits with it). Header-only; used by tests/actors/token and its
// keepa-token-demo.

#pragma once

#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>

#include "messages/actors.hpp"
#include "messages/keepa.hpp"
#include "messages/token.hpp"
#include "tests/support/bucket_model.hpp"

namespace keepa::test {

using tp = caf::actor_clock::time_point;

/// Answers /token from the model, and counts how often it is asked.
struct probe_state {
  static constexpr const char* name = "keepa-probe";
  int calls = 0;
};

inline token_probe_actor::behavior_type
probe(token_probe_actor::stateful_pointer<probe_state> self,
      keepa_model* keepa) {
  return {
    [=](atom::probe) {
      ++self->state.calls;
      auto s = keepa->observe(self->clock().now());
      envelope env;
      env.tokens_left = s.tokens_left;
      env.refill_in_ms = s.refill_in_ms;
      env.refill_rate = s.refill_rate;
      env.token_flow_reduction = s.token_flow_reduction;
      env.timestamp_ms = s.server_timestamp_ms;
      return env;
    },
  };
}

/// What a consumer saw.
struct consumer_log {
  int64_t grants = 0;
  int64_t waits = 0;
  int64_t rejected = 0;
  int64_t tokens = 0;
  /// Retries at a promised time that were not granted.
  int64_t broken_promises = 0;
  std::vector<tp> grant_times;
  tp first_request;
};

struct consumer_state {
  static constexpr const char* name = "consumer";
  uint64_t ticket = 0;
  tp promised;
  bool promise = false;
  /// A recharge-wait for `ticket` received, no acquire outstanding.
  bool waiting = false;
  int remaining = 0;
};

inline caf::behavior consumer(caf::stateful_actor<consumer_state>* self,
                              token_actor tok, keepa_model* keepa, stage what,
                              int64_t cost, int limit, uint64_t seed,
                              consumer_log* log) {
  auto rng = std::make_shared<std::mt19937_64>(seed);
  self->state.remaining = limit;
  auto ask = std::make_shared<std::function<void()>>();
  *ask = [=] {
    auto& st = self->state;
    token_request req{std::string{to_string(what)} + "-consumer", what, cost,
                      st.ticket};
    auto at = self->clock().now();
    st.waiting = false;
    if (st.ticket == 0 && log->grants == 0 && log->waits == 0)
      log->first_request = at;
    self->request(tok, caf::infinite, atom::acquire_v, req)
      .then([=](token_reply& reply) {
        auto& st = self->state;
        auto now = self->clock().now();
        if (auto g = caf::get_if<token_grant>(&reply)) {
          st.ticket = 0;
          ++log->grants;
          log->grant_times.push_back(now);
          std::uniform_int_distribution<int64_t> dist{cost / 2, cost};
          auto actual = dist(*rng);
          bool rejected = false;
          auto s = keepa->request(g->grant_id, actual, now, rejected);
          if (rejected)
            ++log->rejected;
          else
            log->tokens += actual;
          self->send(tok, atom::settle_v, s);
          if (limit > 0 && --st.remaining == 0)
            return;
          (*ask)();
          return;
        }
        auto& w = caf::get<recharge_wait>(reply);
        if (st.ticket != 0 && st.promise && now >= st.promised)
          ++log->broken_promises;
        ++log->waits;
        st.ticket = w.ticket;
        st.waiting = true;
        st.promised = now + w.retry_after;
        // Waiting for the first observation is no promise.
        st.promise = w.reason != "no balance observation yet";
        self->delayed_send(self, w.retry_after, atom::retry_v, w.ticket);
      });
  };
  (*ask)();
  return {
    [=](atom::retry, uint64_t ticket) {
      if (self->state.waiting && ticket == self->state.ticket)
        (*ask)();
    },
  };
}

} // namespace keepa::test
