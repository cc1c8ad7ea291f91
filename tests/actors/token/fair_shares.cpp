// Issue 22, test 4: several processes' worth of consumers against one TOKEN
// on the test coordinator, days long, for the fairness and utilisation
// figures. Each simulated process is a relay that forwards its stages'
// acquires to the one TOKEN with its weight, as a TOKEN LINK does over the
// middleman (token_link.hpp); the stages are the token tests' consumers
// against the bucket model.

#include "actors/token/token.hpp"

#include <map>

#include <catch2/catch.hpp>
#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>

#include "actors/token/token_link.hpp"
#include "messages/keepa.hpp"
#include "messages/token.hpp"
#include "tests/support/bucket_model.hpp"
#include "tests/support/consumer.hpp"
#include "tests/actors/token/token_fixture.hpp"
#include "tests/support/fixture.hpp"

using namespace keepa;
using namespace std::chrono_literals;
using keepa::test::consumer;
using keepa::test::consumer_log;
using keepa::test::keepa_model;
using keepa::test::probe;
using tp = caf::actor_clock::time_point;

namespace {

struct relay_state {
  static constexpr const char* name = "relay";
  /// Waiting tickets with the stage that holds each.
  std::map<uint64_t, caf::actor_addr> tickets;
};

/// One simulated process: what a TOKEN LINK relays, without the network.
token_link_actor::behavior_type
relay(token_link_actor::stateful_pointer<relay_state> self, token_actor server,
      int64_t weight) {
  return {
    [=](atom::acquire, token_request req) -> caf::result<token_reply> {
      req.weight = weight;
      auto stage = caf::actor_cast<caf::actor_addr>(self->current_sender());
      auto rp = self->make_response_promise<token_reply>();
      self->request(server, caf::infinite, atom::acquire_v, req)
        .then(
          [=](token_reply& r) mutable {
            if (auto w = caf::get_if<recharge_wait>(&r))
              self->state.tickets[w->ticket] = stage;
            rp.deliver(std::move(r));
          },
          [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return caf::delegated<token_reply>{};
    },
    [=](atom::settle, const settlement& s) {
      self->send(server, atom::settle_v, s);
    },
    [=](atom::release, uint64_t id) {
      self->send(server, atom::release_v, id);
    },
    [=](atom::retry, uint64_t ticket) {
      auto& xs = self->state.tickets;
      if (auto i = xs.find(ticket); i != xs.end()) {
        if (auto to = caf::actor_cast<caf::actor>(i->second))
          caf::anon_send(to, atom::retry_v, ticket);
        xs.erase(i);
      }
    },
    [](atom::tick) {
      // nop
    },
    [](atom::hold, const std::string&) {
      // nop
    },
    [](atom::resume) {
      // nop
    },
    [=](atom::snapshot) { return self->delegate(server, atom::snapshot_v); },
    [=](atom::status) { return self->delegate(server, atom::status_v); },
  };
}

/// A simulated process: its relay, its stages and what they spent.
struct process {
  int64_t weight;
  caf::actor relay;
  std::vector<caf::actor> stages;
  std::vector<std::unique_ptr<consumer_log>> logs;

  int64_t tokens() const {
    int64_t result = 0;
    for (auto& x : logs)
      result += x->tokens;
    return result;
  }

  int64_t tokens(stage what, const std::vector<stage>& kinds) const {
    int64_t result = 0;
    for (size_t i = 0; i < logs.size(); ++i)
      if (kinds[i % kinds.size()] == what)
        result += logs[i]->tokens;
    return result;
  }
};

std::string shares_text(const std::vector<int64_t>& xs) {
  int64_t total = 0;
  for (auto x : xs)
    total += x;
  std::string result;
  for (auto x : xs) {
    if (!result.empty())
      result += " : ";
    result += std::to_string(x) + " ("
      + std::to_string(total > 0 ? 100.0 * double(x) / double(total) : 0.0)
          .substr(0, 5)
      + " %)";
  }
  return result;
}

} // namespace

TEST_CASE_METHOD(test::token_fixture,
                 "three processes of weights 1, 2, 3 share one TOKEN for 2.5 "
                 "days: weighted, work-conserving, above the floor",
                 "[token][shares][cluster-virtual]") {
  constexpr int64_t rate = 250;
  auto start = now();
  keepa_model keepa{rate, 60 * rate, start};
  auto cfg = make_config();
  cfg.probe = sys.spawn(probe, &keepa);
  auto tok = sys.spawn(token, cfg);
  const std::vector<stage> kinds{stage::scan, stage::peek, stage::commit};
  const std::vector<int64_t> costs{5, 20, 60};
  std::vector<process> ps(3);
  // Every actor ends with the test, also when a REQUIRE fails (the actor
  // system waits for them).
  struct ender {
    test::token_fixture& f;
    caf::actor tok;
    std::vector<process>& ps;
    ~ender() {
      for (auto& p : ps) {
        for (auto& s : p.stages)
          anon_send_exit(s, caf::exit_reason::user_shutdown);
        anon_send_exit(p.relay, caf::exit_reason::user_shutdown);
      }
      anon_send_exit(tok, caf::exit_reason::user_shutdown);
      f.sched.run();
    }
  } end_all{*this, caf::actor_cast<caf::actor>(tok), ps};
  uint64_t seed = 1;
  auto start_stages = [&](process& p) {
    for (size_t k = 0; k < kinds.size(); ++k) {
      p.logs.push_back(std::make_unique<consumer_log>());
      p.stages.push_back(
        sys.spawn(consumer, caf::actor_cast<token_actor>(p.relay), &keepa,
                  kinds[k], costs[k], 0, seed++, p.logs.back().get()));
    }
  };
  auto stop_stages = [&](process& p) {
    for (auto& s : p.stages)
      anon_send_exit(s, caf::exit_reason::user_shutdown);
    p.stages.clear();
  };
  for (size_t i = 0; i < ps.size(); ++i) {
    ps[i].weight = int64_t(i + 1);
    ps[i].relay
      = caf::actor_cast<caf::actor>(sys.spawn(relay, tok, ps[i].weight));
    start_stages(ps[i]);
  }
  // Tokens of each process in [from, to).
  auto window = [&](tp from, tp to) {
    run_until(from);
    std::vector<int64_t> before;
    for (auto& p : ps)
      before.push_back(p.tokens());
    run_until(to);
    std::vector<int64_t> result;
    for (size_t i = 0; i < ps.size(); ++i)
      result.push_back(ps[i].tokens() - before[i]);
    return result;
  };
  auto share = [](const std::vector<int64_t>& xs, size_t i) {
    int64_t total = 0;
    for (auto x : xs)
      total += x;
    return double(xs[i]) / double(total);
  };
  // Day 1: all busy (the first hour drains the full bucket).
  auto busy = window(start + 1h, start + 24h);
  // Then process 3 (weight 3) has no work for 12 hours.
  stop_stages(ps[2]);
  auto idle = window(start + 24h + 10min, start + 36h);
  // It comes back: no catch-up for the time away, no penalty for the others.
  start_stages(ps[2]);
  auto back = window(start + 36h, start + 37h);
  auto after = window(start + 37h, start + 60h);
  auto st = snapshot(tok);
  auto utilisation = double(keepa.spent()) / double(keepa.generated());
  // Printed for the issue note.
  WARN("test 4, R = " << rate << "/min, 60 h virtual, weights 1:2:3");
  WARN("all busy (1 h - 24 h): " << shares_text(busy));
  WARN("weight 3 idle (24 h 10 min - 36 h): " << shares_text(idle));
  WARN("first hour back (36 h - 37 h): " << shares_text(back));
  WARN("all busy again (37 h - 60 h): " << shares_text(after));
  WARN("utilisation " << 100.0 * utilisation << " % (spent " << keepa.spent()
                      << " of " << keepa.generated()
                      << " generated), min balance " << keepa.min_balance()
                      << ", floor " << st.floor << ", 429s "
                      << keepa.rejections());
  for (auto& c : st.consumers)
    WARN("snapshot: " << c.consumer << " weight " << c.weight << " granted "
                      << c.granted << " consumed " << c.consumed << " share "
                      << c.share << " (weight share " << c.weight_share << ")");
  for (size_t i = 0; i < ps.size(); ++i) {
    auto w = double(ps[i].weight) / 6;
    CHECK(share(busy, i) == Approx(w).epsilon(0.05));
    CHECK(share(back, i) == Approx(w).epsilon(0.05));
    CHECK(share(after, i) == Approx(w).epsilon(0.05));
  }
  CHECK(idle[2] == 0);
  CHECK(share(idle, 0) == Approx(1.0 / 3).epsilon(0.05));
  CHECK(share(idle, 1) == Approx(2.0 / 3).epsilon(0.05));
  CHECK(utilisation >= 0.99);
  CHECK(keepa.min_balance() >= st.floor);
  CHECK(keepa.rejections() == 0);
  // Inside each process the always hungry commit stage is served first.
  for (auto& p : ps)
    CHECK(p.tokens(stage::commit, kinds) >= 0.99 * double(p.tokens()));
  // The snapshot names the three relays with their weights.
  REQUIRE(st.consumers.size() == 3);
  for (size_t i = 0; i < 3; ++i)
    CHECK(st.consumers[i].weight == ps[i].weight);
  // A process whose relay goes down is forgotten.
  for (auto& p : ps)
    stop_stages(p);
  anon_send_exit(ps[0].relay, caf::exit_reason::user_shutdown);
  sched.run();
  CHECK(snapshot(tok).consumers.size() == 2);
}
