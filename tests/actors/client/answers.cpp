// Issue 19: what the KEEPA CLIENT tells a monitor. Every transfer counted by
// endpoint and status code and timed; when Keepa last answered well and
// what failed last; authentication failures (401, 402, 403) counted, and
// the client ends with ec::key_refused after max_auth_failures in a row.
// Real loopback sockets: keepa-sim, a scripted server, a refusing port.

#include <catch2/catch.hpp>

#include <caf/config_value.hpp>

#include "tests/support/hostile_server.hpp"
#include "tests/support/loopback.hpp"
#include "tests/support/refusing_port.hpp"

using namespace client_test;
using namespace keepa;

namespace {

int64_t num(const caf::settings& xs, const char* key) {
  return caf::get_or(xs, key, int64_t{0});
}

/// Transfers of `path` answered with `code`.
int64_t answers(const caf::settings& xs, const std::string& path,
                const std::string& code) {
  auto by_path = caf::get_if<caf::settings>(&xs, "answers");
  if (!by_path)
    return 0;
  auto i = by_path->find(path);
  if (i == by_path->end())
    return 0;
  auto codes = caf::get_if<caf::settings>(&i->second);
  return codes ? caf::get_or(*codes, code, int64_t{0}) : 0;
}

/// The latency buckets of `path` (empty when none).
std::vector<int64_t> latency(const caf::settings& xs, const std::string& path) {
  auto by_path = caf::get_if<caf::settings>(&xs, "latency");
  if (!by_path)
    return {};
  auto i = by_path->find(path);
  if (i == by_path->end())
    return {};
  auto h = caf::get_if<caf::settings>(&i->second);
  return h ? caf::get_or(*h, "counts", std::vector<int64_t>{})
           : std::vector<int64_t>{};
}

int64_t sum(const std::vector<int64_t>& xs) {
  int64_t n = 0;
  for (auto x : xs)
    n += x;
  return n;
}

/// A client of its own (no TOKEN) against `endpoint` on a real scheduler.
struct plain_client {
  threaded_config cfg;
  caf::actor_system sys{cfg};
  log_capture logs;
  keepa_client_actor client;

  plain_client(std::string endpoint, client_config cc) {
    cc.endpoint = std::move(endpoint);
    if (cc.key.empty())
      cc.key = secret_key;
    cc.log = logs.sink();
    cc.seed = 7;
    client = spawn_keepa_client(sys, std::move(cc));
  }

  ~plain_client() {
    caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
  }

  caf::expected<envelope> probe() {
    caf::scoped_actor self{sys};
    caf::expected<envelope> result{caf::error{}};
    self->request(client, 30s, atom::probe_v)
      .receive([&](envelope& x) { result = std::move(x); },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  caf::settings status() {
    caf::scoped_actor self{sys};
    caf::settings result;
    self->request(client, 10s, atom::status_v)
      .receive([&](caf::settings& xs) { result = std::move(xs); },
               [](caf::error& err) { FAIL(caf::to_string(err)); });
    return result;
  }
};

/// Answers the n-th request with `statuses[n]` (the last one beyond), an
/// envelope with an error for 4xx.
test::hostile_server scripted(std::vector<int> statuses) {
  return test::hostile_server{[statuses](const test::seen_request&, int64_t n) {
    auto status
      = statuses[std::min<size_t>(static_cast<size_t>(n), statuses.size() - 1)];
    auto env = test::envelope_json(wall_ms(), 100, 30000, 20, 0);
    test::scripted_answer a;
    a.status = status;
    a.body = status == 200 ? "{" + env + "}"
                           : "{" + env
        + R"(,"error":{"type":"REFUSED","message":"no",)"
          R"("details":"no"}})";
    return a;
  }};
}

} // namespace

TEST_CASE("every transfer is counted by endpoint and code and timed",
          "[client][health]") {
  sim_server srv{sim_options()};
  loopback lb{srv};
  auto before = wall_ms();
  REQUIRE(lb.ask<envelope>(atom::probe_v));
  auto grant = lb.grant(2);
  REQUIRE(lb.ask<product_page>(atom::product_v,
                               products(first(*srv.model, 2), grant)));
  auto st = lb.ask<caf::settings>(atom::status_v);
  REQUIRE(st);
  CHECK(answers(*st, "/token", "200") == 1);
  CHECK(answers(*st, "/product", "200") == 1);
  CHECK(answers(*st, "/deal", "200") == 0);
  auto token_latency = latency(*st, "/token");
  CHECK(token_latency.size() == std::size(latency_bounds) + 1);
  CHECK(sum(token_latency) == 1);
  CHECK(sum(latency(*st, "/product")) == 1);
  CHECK(num(*st, "last-success-unix-ms") >= before);
  CHECK(num(*st, "last-success-unix-ms") <= wall_ms());
  CHECK(num(*st, "last-failure-unix-ms") == 0);
  CHECK(num(*st, "auth-failures") == 0);
}

TEST_CASE("an unreachable endpoint is counted as code none and named",
          "[client][health]") {
  test::refusing_port refusing;
  client_config cc;
  cc.attempts = 2;
  cc.backoff = 1ms;
  plain_client pc{"http://127.0.0.1:" + std::to_string(refusing.port()), cc};
  auto err = pc.probe();
  REQUIRE_FALSE(err);
  CHECK(err.error() == ec::transport_error);
  auto st = pc.status();
  CHECK(answers(st, "/token", "none") == 2);
  CHECK(sum(latency(st, "/token")) == 2);
  CHECK(num(st, "last-success-unix-ms") == 0);
  CHECK(num(st, "last-failure-unix-ms") > 0);
  auto why = caf::get_or(st, "last-failure", std::string{});
  CHECK(why.rfind("/token: ", 0) == 0);
  CHECK(num(st, "auth-failures") == 0);
}

TEST_CASE("a refused key ends the client after max_auth_failures in a row",
          "[client][health]") {
  sim_server srv{sim_options()};
  client_config cc;
  cc.key = "wrong+" + secret_key;
  cc.max_auth_failures = 3;
  plain_client pc{srv.endpoint(), cc};
  caf::scoped_actor self{pc.sys};
  self->monitor(pc.client);
  for (int i = 1; i <= 2; ++i) {
    auto err = pc.probe();
    REQUIRE_FALSE(err);
    CHECK(err.error() == ec::payment_required);
    auto st = pc.status();
    CHECK(num(st, "auth-failures") == i);
    CHECK(num(st, "auth-failures-in-row") == i);
    CHECK(answers(st, "/token", "402") == i);
    CHECK(caf::get_or(st, "last-failure", std::string{})
          == "/token: HTTP 402 PAYMENT_REQUIRED: invalid key");
  }
  // The third refusal: the caller gets its error, then the client ends.
  CHECK_FALSE(pc.probe());
  caf::error reason;
  self->receive([&](caf::down_msg& msg) { reason = msg.reason; },
                caf::after(10s) >> [] { FAIL("the client did not end"); });
  CHECK(reason == ec::key_refused);
  auto text = render(reason);
  CHECK_THAT(text, Catch::Contains("3 times in a row"));
  CHECK_THAT(text, Catch::Contains("HTTP 402"));
  CHECK(text.find("s3cr3t") == std::string::npos);
}

TEST_CASE("a successful answer ends a row of authentication failures",
          "[client][health]") {
  // 401, 403, 200, 401, 401: never three in a row.
  auto srv = scripted({401, 403, 200, 401, 401});
  client_config cc;
  cc.max_auth_failures = 3;
  plain_client pc{srv.endpoint(), cc};
  std::vector<int64_t> in_row;
  for (int i = 0; i < 5; ++i) {
    auto answer = pc.probe();
    CHECK(static_cast<bool>(answer) == (i == 2));
    if (!answer && i < 2)
      CHECK(answer.error() == ec::key_refused);
    in_row.push_back(num(pc.status(), "auth-failures-in-row"));
  }
  CHECK(in_row == std::vector<int64_t>{1, 2, 0, 1, 2});
  auto st = pc.status();
  CHECK(num(st, "auth-failures") == 4);
  CHECK(answers(st, "/token", "401") == 3);
  CHECK(answers(st, "/token", "403") == 1);
  CHECK(answers(st, "/token", "200") == 1);
  CHECK(num(st, "last-success-unix-ms") > 0);
}

TEST_CASE("max_auth_failures 0: a refused key never ends the client",
          "[client][health]") {
  sim_server srv{sim_options()};
  client_config cc;
  cc.key = "wrong";
  cc.max_auth_failures = 0;
  plain_client pc{srv.endpoint(), cc};
  for (int i = 0; i < 5; ++i)
    CHECK_FALSE(pc.probe());
  auto st = pc.status();
  CHECK(num(st, "auth-failures-in-row") == 5);
}
