// Each fault keepa-sim injects, over loopback: what the caller sees, how
// often the client tried, and how the grant ended.

#include <catch2/catch.hpp>

#include "tests/support/loopback.hpp"
#include "tests/support/refusing_port.hpp"

using namespace client_test;
using namespace keepa;

namespace {

struct fault_case {
  const char* name;
  void (*inject)(sim::options&);
  ec expected;
  /// Transfers the server sees for one request (attempts = 3).
  uint64_t transfers;
  uint64_t settled_grants;
  uint64_t released_grants;
};

client_config quick_retries() {
  client_config cc;
  cc.attempts = 3;
  cc.backoff = 5ms;
  cc.backoff_max = 20ms;
  cc.transport.timeout = 300ms;
  return cc;
}

} // namespace

TEST_CASE("injected faults: retries, errors and grant accounting", "[client]") {
  fault_case cases[] = {
    {"5xx", [](sim::options& o) { o.rate_5xx = 1; }, ec::server_error, 3, 0, 1},
    {"timeout",
     [](sim::options& o) {
       o.rate_timeout = 1;
       o.timeout_hold_ms = 5000;
     },
     ec::server_error, 3, 1, 0},
    {"reset", [](sim::options& o) { o.rate_reset = 1; }, ec::server_error, 3, 1,
     0},
    {"malformed", [](sim::options& o) { o.rate_malformed = 1; },
     ec::malformed_answer, 1, 1, 0},
    {"truncated", [](sim::options& o) { o.rate_truncated = 1; },
     ec::malformed_answer, 1, 1, 0},
  };
  for (auto& fc : cases) {
    DYNAMIC_SECTION(fc.name) {
      auto opts = sim_options();
      fc.inject(opts);
      sim_server srv{opts};
      {
        loopback lb{srv, quick_retries()};
        lb.observe(1200);
        auto grant = lb.grant(5);
        REQUIRE(grant != 0);
        auto page = lb.ask<product_page>(atom::product_v,
                                         products(first(*srv.model, 5), grant));
        REQUIRE_FALSE(page);
        CHECK(is(page.error(), fc.expected));
        auto status = lb.ask<caf::settings>(atom::status_v);
        REQUIRE(status);
        CHECK(caf::get_or(*status, "transfers", int64_t{0})
              == static_cast<int64_t>(fc.transfers));
        CHECK(caf::get_or(*status, "retries", int64_t{0})
              == static_cast<int64_t>(fc.transfers - 1));
        auto st = lb.snapshot();
        CHECK(st.totals.grants == 1);
        CHECK(st.totals.settled_grants == fc.settled_grants);
        CHECK(st.totals.released_grants == fc.released_grants);
        if (fc.settled_grants == 1 && fc.transfers > 1) {
          // Lost answers may have been charged: every attempt stays
          // subtracted until Keepa reports the balance again.
          CHECK(st.totals.unconfirmed == fc.transfers);
          CHECK(st.outstanding == 5 * static_cast<int64_t>(fc.transfers));
        }
        // Retries were logged, without the key.
        for (auto& line : lb.logs.snapshot())
          CHECK(line.find(secret_key) == std::string::npos);
      }
      CHECK(srv.http->served() >= fc.transfers);
    }
  }
}

TEST_CASE("a request that fails once succeeds on retry", "[client]") {
  auto opts = sim_options();
  opts.rate_5xx = 0.5;
  opts.seed = 7;
  sim_server srv{opts};
  client_config cc = quick_retries();
  cc.attempts = 10;
  loopback lb{srv, cc};
  lb.observe(1200);
  int ok = 0;
  for (int i = 0; i < 8; ++i) {
    auto page = lb.ask<product_page>(
      atom::product_v, products(first(*srv.model, 2), lb.grant(2)));
    ok += page ? 1 : 0;
  }
  CHECK(ok == 8);
  auto status = lb.ask<caf::settings>(atom::status_v);
  REQUIRE(status);
  CHECK(caf::get_or(*status, "retries", int64_t{0}) > 0);
  auto st = lb.snapshot();
  CHECK(st.totals.settled_grants == 8);
  CHECK(st.outstanding == 0);
}

TEST_CASE("nothing listening: the grant is released", "[client]") {
  keepa::test::refusing_port refusing;
  auto endpoint = "http://127.0.0.1:" + std::to_string(refusing.port());
  threaded_config cfg;
  caf::actor_system sys{cfg};
  auto token = sys.spawn(keepa::token, token_config_from(cfg));
  client_config cc = quick_retries();
  cc.endpoint = endpoint;
  cc.key = secret_key;
  cc.token = token;
  auto client = spawn_keepa_client(sys, cc);
  settlement s;
  s.tokens_left = 100;
  s.refill_rate = 20;
  s.refill_in_ms = 1000;
  s.server_timestamp_ms = wall_ms();
  caf::scoped_actor self{sys};
  self->send(token, atom::settle_v, s);
  uint64_t grant = 0;
  self
    ->request(token, 5s, atom::acquire_v,
              token_request{"test", stage::scan, 5, 0})
    .receive(
      [&](token_reply& r) {
        if (auto* g = caf::get_if<token_grant>(&r))
          grant = g->grant_id;
      },
      [](const caf::error&) {});
  REQUIRE(grant != 0);
  deal_query dq;
  dq.grant_id = grant;
  dq.selection = R"({"domainId":1,"priceTypes":[2]})";
  bool failed = false;
  self->request(client, 10s, atom::deal_v, dq)
    .receive([](const deal_page&) {},
             [&](const caf::error& err) {
               failed = true;
               CHECK(is(err, ec::transport_error));
             });
  CHECK(failed);
  self->request(token, 5s, atom::snapshot_v)
    .receive(
      [](const token_status& st) {
        CHECK(st.totals.released_grants == 1);
        CHECK(st.outstanding == 0);
      },
      [](const caf::error&) { FAIL("no snapshot"); });
  self->send_exit(client, caf::exit_reason::user_shutdown);
  self->send_exit(token, caf::exit_reason::user_shutdown);
}

TEST_CASE("requests Keepa would refuse are refused before sending",
          "[client]") {
  sim_server srv{sim_options()};
  loopback lb{srv};
  lb.observe(1200);
  auto q = products({}, lb.grant(1));
  auto none = lb.ask<product_page>(atom::product_v, q);
  REQUIRE_FALSE(none);
  CHECK(is(none.error(), ec::request_rejected));
  q = products(first(*srv.model, 1), lb.grant(1));
  q.offers = 5;
  auto bad_offers = lb.ask<product_page>(atom::product_v, q);
  REQUIRE_FALSE(bad_offers);
  CHECK(is(bad_offers.error(), ec::request_rejected));
  deal_query dq;
  dq.grant_id = lb.grant(5, stage::scan);
  dq.selection = "[not an object";
  auto bad_selection = lb.ask<deal_page>(atom::deal_v, dq);
  REQUIRE_FALSE(bad_selection);
  CHECK(is(bad_selection.error(), ec::invalid_config));
  CHECK(srv.http->served() == 0);
  auto st = lb.snapshot();
  CHECK(st.totals.released_grants == 3);
  CHECK(st.outstanding == 0);
  // Keepa's own refusal (an unknown ASIN format) is a 400, not retried.
  q = products({"not-an-asin"}, lb.grant(1));
  auto rejected = lb.ask<product_page>(atom::product_v, q);
  REQUIRE_FALSE(rejected);
  CHECK(is(rejected.error(), ec::request_rejected));
  CHECK(srv.http->served() == 1);
}
