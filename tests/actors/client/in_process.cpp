// The in-process transport: keepa-sim's model on CAF's test clock, so
// latency, timeouts and refills happen in virtual time.

#include <catch2/catch.hpp>

#include <caf/scoped_actor.hpp>

#include "actors/client/keepa_client.hpp"
#include "actors/token/token.hpp"
#include "messages/error.hpp"
#include "messages/keepa.hpp"
#include "messages/token.hpp"
#include "tests/support/fixture.hpp"
#include "tools/virtual-run/sim_transport.hpp"

using namespace keepa;
using namespace std::chrono_literals;

namespace {

constexpr int64_t t0 = 1790000000000;

/// Ends a receive at once when the expected message is not there.
const auto nothing_else = caf::after(std::chrono::seconds{0}) >>
  [] { FAIL("expected message missing"); };

struct in_process : test::deterministic_fixture {
  std::shared_ptr<sim::model> model;
  token_actor token;
  keepa_client_actor client;
  caf::scoped_actor self{sys};

  explicit in_process(sim::options opts, client_config cc = {}) {
    opts.start_unix_ms = t0;
    model = std::make_shared<sim::model>(opts);
    load_profiles(cfg);
    token = sys.spawn(keepa::token, token_config_from(cfg));
    cc.make_transport = sim_transport_factory(model, t0);
    cc.key = opts.key;
    cc.token = token;
    cc.seed = 1;
    client = spawn_keepa_client(sys, cc);
    sched.run();
  }

  ~in_process() {
    self->send_exit(client, caf::exit_reason::user_shutdown);
    self->send_exit(token, caf::exit_reason::user_shutdown);
    sched.run();
  }

  int64_t now_ms() {
    return t0
      + std::chrono::duration_cast<std::chrono::milliseconds>(now() - start)
          .count();
  }

  caf::actor_clock::time_point start = now();
};

product_query light(std::vector<std::string> asins, uint64_t grant) {
  product_query q;
  q.grant_id = grant;
  q.asins = std::move(asins);
  q.stats = "365";
  q.history = false;
  return q;
}

} // namespace

TEST_CASE("in process: answers arrive after the model's latency", "[client]") {
  sim::options opts;
  opts.products = 300;
  opts.latency_ms = 1500;
  in_process f{opts};
  caf::optional<product_page> page;
  f.self->send(f.client, atom::product_v, light({f.model->asins()[0]}, 0));
  f.sched.run();
  // Nothing yet: the answer is 1.5 s of virtual time away.
  CHECK(f.self->mailbox().size() == 0);
  f.advance(1499ms);
  CHECK(f.self->mailbox().size() == 0);
  f.advance(1ms);
  f.self->receive([&](product_page& p) { page = std::move(p); },
                  [](caf::error&) {}, nothing_else);
  REQUIRE(page);
  CHECK(page->products.size() == 1);
  // The model ran the request when it arrived; the answer took 1.5 s.
  CHECK(page->env.timestamp_ms == f.now_ms() - 1500);
}

TEST_CASE("in process: a timeout costs virtual time, not wall time",
          "[client]") {
  sim::options opts;
  opts.products = 300;
  opts.rate_timeout = 1;
  opts.timeout_hold_ms = 600000; // the server never closes first
  client_config cc;
  cc.attempts = 2;
  cc.backoff = 1s;
  cc.backoff_max = 1s;
  cc.transport.timeout = 30s;
  in_process f{opts, cc};
  f.self->send(f.client, atom::product_v, light({f.model->asins()[0]}, 0));
  f.run_until(f.now() + 29s);
  CHECK(f.self->mailbox().size() == 0);
  // 30 s timeout, a retry after 0.5..1 s, another 30 s timeout.
  f.run_until(f.now() + 33s);
  bool failed = false;
  f.self->receive([](product_page&) {},
                  [&](caf::error& err) {
                    failed = true;
                    CHECK(err == ec::server_error);
                  },
                  nothing_else);
  CHECK(failed);
}

TEST_CASE("in process: TOKEN probes through a client and grants", "[client]") {
  sim::options opts;
  opts.products = 300;
  opts.refill_rate = 5;
  opts.initial_tokens = 40;
  in_process f{opts};
  // A second client without a grant sink answers TOKEN's probes.
  token_config tc = token_config_from(f.cfg);
  client_config pc;
  pc.make_transport = sim_transport_factory(f.model, f.now_ms());
  pc.key = opts.key;
  tc.probe = spawn_keepa_client(f.sys, pc);
  auto token = f.sys.spawn(keepa::token, tc);
  f.sched.run();
  // TOKEN probed /token at start (through the probe client), so the
  // first acquire is answered from a real observation.
  f.self->send(token, atom::acquire_v,
               token_request{"test", stage::peek, 30, 0});
  f.sched.run();
  bool granted = false;
  f.self->receive(
    [&](token_reply& r) { granted = caf::holds_alternative<token_grant>(r); },
    nothing_else);
  CHECK(granted);
  f.self->send(token, atom::snapshot_v);
  f.sched.run();
  f.self->receive(
    [&](token_status& st) {
      CHECK(st.totals.probes == 1);
      CHECK(st.projected == 10); // 40 observed, 30 granted
    },
    nothing_else);
  f.self->send_exit(token, caf::exit_reason::user_shutdown);
  f.self->send_exit(tc.probe, caf::exit_reason::user_shutdown);
  f.sched.run();
}
