// Issue 19: /healthz and /readyz verdicts and the /metrics exposition as
// plain functions of a pipeline_report (the live endpoints are exercised
// by health_metrics.sh and introspection.cpp).

#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <caf/config_value.hpp>
#include <caf/settings.hpp>

#include "actors/client/keepa_client.hpp"
#include "actors/pipeline/report.hpp"
#include "tools/keepa-pipeline/health.hpp"

using namespace keepa;
using namespace std::chrono_literals;

namespace {

constexpr int64_t now_ms = 1'796'000'000'000;

/// A client status: transfers of `path` by code, the newest success and
/// failure (ms before now_ms; negative = none).
caf::settings client_status(int64_t success_ago, int64_t failure_ago = -1,
                            int64_t refused_in_row = 0) {
  caf::settings xs;
  xs.emplace("last-success-unix-ms",
             success_ago < 0 ? int64_t{0} : now_ms - success_ago);
  xs.emplace("last-failure-unix-ms",
             failure_ago < 0 ? int64_t{0} : now_ms - failure_ago);
  if (failure_ago >= 0)
    xs.emplace("last-failure",
               std::string{"/token: Couldn't connect to server"});
  xs.emplace("auth-failures", refused_in_row);
  xs.emplace("auth-failures-in-row", refused_in_row);
  return xs;
}

actor_report actor(std::string name, caf::settings status) {
  actor_report a;
  a.name = std::move(name);
  a.ok = true;
  a.status = std::move(status);
  return a;
}

/// A pipeline that is fine: observed 2 s ago, storage writes, the client
/// succeeded 1 s ago.
pipeline_report healthy() {
  pipeline_report r;
  r.unix_ms = now_ms;
  r.token_ok = true;
  r.token.mode = "spending";
  r.token.observation_age = 2s;
  r.token.floor = -180;
  caf::settings storage;
  storage.emplace("writable", true);
  r.actors.push_back(actor("storage", std::move(storage)));
  r.actors.push_back(actor("client", client_status(1000)));
  r.actors.push_back(actor("probe-client", client_status(-1)));
  r.counts_ok = true;
  return r;
}

caf::settings& status_of(pipeline_report& r, const std::string& name) {
  for (auto& a : r.actors)
    if (a.name == name)
      return a.status;
  FAIL("no actor " << name);
  throw;
}

health_options options() {
  health_options o;
  o.ready_max_age = 10min;
  o.max_observation_age = 1h;
  return o;
}

const health_check& check(const health_verdict& v, const std::string& name) {
  for (auto& c : v.checks)
    if (c.name == name)
      return c;
  FAIL("no check " << name);
  throw;
}

} // namespace

TEST_CASE("readyz: ready when observed, writable and Keepa answered lately",
          "[health]") {
  auto v = readiness(healthy(), options());
  CHECK(v.ok);
  CHECK(v.http_status() == 200);
  CHECK(v.reason() == "ok");
  rapidjson::Document doc;
  doc.Parse(v.to_json("not ready").c_str());
  REQUIRE(!doc.HasParseError());
  CHECK(std::string{doc["status"].GetString()} == "ok");
  for (auto name : {"balance", "storage", "keepa"}) {
    INFO(name);
    CHECK(doc["checks"][name]["ok"].GetBool());
  }
  CHECK(liveness(healthy()).ok);
}

TEST_CASE("readyz: each check fails alone and says why", "[health]") {
  auto o = options();
  SECTION("no balance observation yet") {
    auto r = healthy();
    r.token.mode = "unknown";
    auto v = readiness(r, o);
    CHECK_FALSE(v.ok);
    CHECK(v.http_status() == 503);
    CHECK(v.reason() == "no balance observation from Keepa yet");
    CHECK(check(v, "storage").ok);
    CHECK(check(v, "keepa").ok);
  }
  SECTION("an observation older than max-observation-age") {
    auto r = healthy();
    r.token.observation_age = 61min;
    auto v = readiness(r, o);
    CHECK_FALSE(check(v, "balance").ok);
    CHECK_THAT(v.reason(), Catch::Contains("3660.0 s old"));
  }
  SECTION("TOKEN does not answer: not alive either") {
    auto r = healthy();
    r.token_ok = false;
    CHECK_FALSE(readiness(r, o).ok);
    auto alive = liveness(r);
    CHECK_FALSE(alive.ok);
    CHECK(alive.http_status() == 503);
    CHECK_THAT(alive.to_json("down"), Catch::Contains(R"("status":"down")"));
  }
  SECTION("storage in an outage") {
    auto r = healthy();
    auto& st = status_of(r, "storage");
    st["writable"] = false;
    st.emplace("stalled", std::string{"commit"});
    st.emplace("last-error", std::string{"database is locked"});
    auto v = readiness(r, o);
    CHECK_FALSE(v.ok);
    CHECK(v.reason() == "STORAGE cannot write: commit (database is locked)");
    CHECK(check(v, "balance").ok);
  }
  SECTION("no successful answer within ready-max-age") {
    auto r = healthy();
    status_of(r, "client") = client_status(11 * 60 * 1000, 500);
    auto v = readiness(r, o);
    CHECK_FALSE(v.ok);
    CHECK(v.reason()
          == "no successful Keepa answer for 660.0 s "
             "(keepa.http.ready-max-age 600.0 s); last failure 0.5 s ago: "
             "/token: Couldn't connect to server");
  }
  SECTION("never a successful answer: the newest failure of both clients") {
    auto r = healthy();
    status_of(r, "client") = client_status(-1, 3000);
    status_of(r, "probe-client") = client_status(-1, 200);
    status_of(r, "probe-client")["last-failure"]
      = std::string{"/token: HTTP 500"};
    auto v = readiness(r, o);
    CHECK(v.reason()
          == "no successful Keepa answer yet; last failure 0.2 s ago: "
             "/token: HTTP 500");
  }
  SECTION("the key refused since the last success") {
    auto r = healthy();
    status_of(r, "probe-client") = client_status(5000, 100, 2);
    auto v = readiness(r, o);
    CHECK_FALSE(v.ok);
    CHECK_THAT(
      v.reason(),
      Catch::StartsWith("Keepa refused the API key on the last 2 answer(s)"));
  }
}

TEST_CASE("metrics: requests by endpoint and code, latency, Unix times",
          "[health][metrics]") {
  auto r = healthy();
  // Keepa minute 7 825 884 is 2025-11-17 15:24 UTC (keepa-api.md, section 6).
  r.counts.watermark.last_update = 7825884;
  auto& client = status_of(r, "client");
  caf::settings codes;
  codes.emplace("200", int64_t{7});
  codes.emplace("429", int64_t{2});
  caf::settings answers;
  answers.emplace("/deal", std::move(codes));
  client.emplace("answers", std::move(answers));
  std::vector<caf::config_value> le;
  std::vector<caf::config_value> counts;
  for (auto b : latency_bounds) {
    le.emplace_back(b);
    counts.emplace_back(int64_t{0});
  }
  counts.emplace_back(int64_t{0});
  counts[0] = caf::config_value{int64_t{4}}; // <= 0.01 s
  counts[6] = caf::config_value{int64_t{5}}; // <= 1 s
  caf::settings h;
  h.emplace("le", std::move(le));
  h.emplace("counts", std::move(counts));
  h.emplace("sum", 2.5);
  caf::settings latency;
  latency.emplace("/deal", std::move(h));
  client.emplace("latency", std::move(latency));
  status_of(r, "probe-client")["auth-failures"] = int64_t{1};
  auto text = to_metrics(r);
  INFO(text);
  auto has = [&](const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos;
  };
  CHECK(has(R"(keepa_requests_total{code="200",endpoint="/deal"} 7)"));
  CHECK(has(R"(keepa_requests_total{code="429",endpoint="/deal"} 2)"));
  CHECK(has("# TYPE keepa_request_duration_seconds histogram"));
  CHECK(has(
    R"(keepa_request_duration_seconds_bucket{endpoint="/deal",le="0.01"} 4)"));
  CHECK(has(
    R"(keepa_request_duration_seconds_bucket{endpoint="/deal",le="0.5"} 4)"));
  CHECK(
    has(R"(keepa_request_duration_seconds_bucket{endpoint="/deal",le="1"} 9)"));
  CHECK(has(
    R"(keepa_request_duration_seconds_bucket{endpoint="/deal",le="+Inf"} 9)"));
  CHECK(has(R"(keepa_request_duration_seconds_count{endpoint="/deal"} 9)"));
  CHECK(has(R"(keepa_request_duration_seconds_sum{endpoint="/deal"} 2.5)"));
  CHECK(has("keepa_watermark_timestamp_seconds 1763393040"));
  CHECK(has("keepa_last_success_timestamp_seconds 1795999999"));
  CHECK(has("keepa_auth_failures_total 1"));
  CHECK(has("keepa_token_floor -180"));
  CHECK(has("keepa_storage_writable 1"));
  CHECK(text.find("keepa_http_429_total") == std::string::npos);
  CHECK(text.find("purpose=") == std::string::npos);
  CHECK(text.find("stage=") == std::string::npos);
}

TEST_CASE("status line and /status show authentication failures", "[health]") {
  auto r = healthy();
  CHECK(status_line(r).find("auth failures") == std::string::npos);
  status_of(r, "probe-client") = client_status(-1, 100, 2);
  CHECK_THAT(status_line(r), Catch::EndsWith(" | auth failures 2"));
  rapidjson::Document doc;
  doc.Parse(to_json(r).c_str());
  REQUIRE(!doc.HasParseError());
  CHECK(doc["keepa"]["auth_failures"].GetInt64() == 2);
  CHECK(doc["keepa"]["last_success_unix_ms"].GetInt64() == now_ms - 1000);
}
