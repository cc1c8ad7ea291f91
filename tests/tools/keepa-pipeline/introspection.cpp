// Live introspection: keepa-sim over loopback, the real pipeline on a real
// scheduler, and keepa-pipeline's introspection service (the same code
// main.cpp runs) on free ports. A second actor system connects through the
// middleman like keepa-status; HTTP /status and /metrics are fetched with
// a real HTTP client. Every wait is bounded.

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>

#include <unistd.h>

#include <httplib.h>
#include <rapidjson/document.h>

#include <caf/io/middleman.hpp>

#include "actors/pipeline/pipeline.hpp"
#include "tests/support/loopback.hpp"
#include "tests/support/refusing_port.hpp"
#include "tools/keepa-pipeline/service.hpp"

using namespace client_test;
using namespace keepa;

namespace {

struct intro_config : threaded_config {
  intro_config() {
    // pipeline_config::load(argc, argv) hides the module loader.
    actor_system_config::load<caf::io::middleman>();
  }
};

sim::options busy_sim() {
  auto o = sim_options();
  o.refill_rate = 3000;
  o.products = 2000;
  o.update_rate = 300;
  return o;
}

std::atomic<int> instance{0};

/// keepa-sim, the pipeline against it, and the introspection service on
/// free ports (what keepa-pipeline runs with --keepa.introspection.port and
/// --keepa.http.port).
struct live_pipeline {
  sim_server srv{busy_sim()};
  intro_config cfg;
  caf::actor_system sys{cfg};
  log_capture logs;
  std::filesystem::path dir;
  pipeline_handles h;
  std::unique_ptr<introspection_service> svc;

  live_pipeline() {
    dir = std::filesystem::temp_directory_path()
      / ("keepa-introspection-test-" + std::to_string(::getpid()) + "-"
         + std::to_string(++instance));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    pipeline_settings s;
    s.token = token_config_from(cfg);
    s.client.endpoint = srv.endpoint();
    s.client.key = secret_key;
    s.client.seed = 7;
    s.storage.url = "sqlite:" + (dir / "deals.db").string();
    auto scan = scanner_config_from(caf::settings{});
    REQUIRE(scan);
    s.scan = *scan;
    // A pass whose books are all remembered hands the peek-filter nothing,
    // so only the interval brings the next pass (and its scan tokens).
    s.scan.interval = std::chrono::seconds{5};
    auto update = updater_config_from(caf::settings{});
    REQUIRE(update);
    s.update = *update;
    auto analysis = analysis_config_from(caf::settings{});
    REQUIRE(analysis);
    s.analysis = *analysis;
    s.log = logs.sink();
    s.unix0_ms = wall_ms();
    auto spawned = spawn_pipeline(sys, s);
    REQUIRE(spawned);
    h = *spawned;
    introspection_options opts;
    opts.port = 0;
    opts.http_port = 0;
    svc = std::make_unique<introspection_service>(sys, h, opts, logs.sink());
    REQUIRE(svc->port() != 0);
    REQUIRE(svc->http_port() != 0);
  }

  ~live_pipeline() {
    svc->stop();
    stop_stages();
    for (auto& kvp : status_actors(h))
      caf::anon_send_exit(kvp.second, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(h.probe_client, caf::exit_reason::user_shutdown);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  /// What keepa-pipeline does on SIGTERM: no new work, storage flushed.
  void stop_stages() {
    caf::scoped_actor self{sys};
    auto stop = [&](auto hdl) {
      self->request(hdl, 10s, atom::stop_v)
        .receive([](caf::ok_atom) {}, [](caf::error&) {});
    };
    stop(h.scanner);
    stop(h.updater);
    stop(h.peek);
    stop(h.committer);
    self->request(h.storage, 10s, atom::flush_v)
      .receive([](caf::ok_atom) {}, [](caf::error&) {});
  }

  // -- asked directly, without the introspection code ----------------------

  token_status token() {
    caf::scoped_actor self{sys};
    token_status result;
    self->request(h.token, 5s, atom::snapshot_v)
      .receive([&](token_status& st) { result = std::move(st); },
               [](caf::error& err) { FAIL(caf::to_string(err)); });
    return result;
  }

  template<class Handle>
  caf::settings status(const Handle& hdl) {
    caf::scoped_actor self{sys};
    caf::settings result;
    self->request(hdl, 5s, atom::status_v)
      .receive([&](caf::settings& xs) { result = std::move(xs); },
               [](caf::error& err) { FAIL(caf::to_string(err)); });
    return result;
  }

  int64_t committed() {
    return caf::get_or(status(h.committer), "committed", int64_t{0});
  }

  /// Polls (100 ms waits, 60 s at most) until `n` deals are committed.
  void await_committed(int64_t n) {
    caf::scoped_actor self{sys};
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (committed() < n && std::chrono::steady_clock::now() < deadline)
      self->receive(caf::after(std::chrono::milliseconds{100}) >> [] {});
    REQUIRE(committed() >= n);
  }
};

/// A second actor system, like keepa-status.
struct remote_side {
  struct config : caf::actor_system_config {
    config() {
      keepa::add_message_types(*this);
      load<caf::io::middleman>();
      set("scheduler.max-threads", 2);
    }
  } cfg;
  caf::actor_system sys{cfg};

  pipeline_report fetch(uint16_t port) {
    auto r = fetch_remote_report(sys, "127.0.0.1", port, 5s);
    REQUIRE(r);
    return std::move(*r);
  }
};

int64_t num(const caf::settings& xs, const char* key) {
  return caf::get_or(xs, key, int64_t{0});
}

std::string http_get(uint16_t port, const std::string& path,
                     std::string* content_type = nullptr) {
  httplib::Client cli{"127.0.0.1", port};
  cli.set_connection_timeout(5);
  cli.set_read_timeout(10);
  auto res = cli.Get(path.c_str());
  REQUIRE(res);
  REQUIRE(res->status == 200);
  if (content_type != nullptr)
    *content_type = res->get_header_value("Content-Type");
  return res->body;
}

/// Samples of one /metrics scrape by series ("name{labels}"), after checking
/// every line against the Prometheus text format (0.0.4).
struct scrape {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types; // family -> type
};

scrape parse_metrics(const std::string& text) {
  static const std::regex help{R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$)"};
  static const std::regex type{
    R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)"};
  static const std::regex sample{
    R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? (-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|NaN|[+-]Inf)$)"};
  scrape result;
  REQUIRE(!text.empty());
  REQUIRE(text.back() == '\n');
  std::istringstream in{text};
  std::string line;
  std::set<std::string> helped;
  while (std::getline(in, line)) {
    INFO("line: " << line);
    std::smatch m;
    if (std::regex_match(line, m, help)) {
      CHECK(helped.insert(m[1]).second);
    } else if (std::regex_match(line, m, type)) {
      CHECK(result.types.count(m[1]) == 0);
      result.types[m[1]] = m[2];
    } else if (std::regex_match(line, m, sample)) {
      // Every sample belongs to a family declared before it.
      CHECK(result.types.count(m[1]) == 1);
      auto series = m[1].str() + m[2].str();
      CHECK(result.samples.count(series) == 0);
      result.samples[series] = std::stod(m[3]);
    } else {
      FAIL("not Prometheus text format");
    }
  }
  return result;
}

} // namespace

TEST_CASE("keepa-status's path: remote report agrees with the actors",
          "[introspection]") {
  live_pipeline p;
  p.await_committed(1);
  remote_side remote;
  // While it runs: every monotonic figure of the remote report lies between
  // two local readings taken before and after it.
  auto tok1 = p.token();
  auto com1 = p.status(p.h.committer);
  auto peek1 = p.status(p.h.peek);
  auto r = remote.fetch(p.svc->port());
  auto tok2 = p.token();
  auto com2 = p.status(p.h.committer);
  auto peek2 = p.status(p.h.peek);
  REQUIRE(r.token_ok);
  REQUIRE(r.counts_ok);
  CHECK(r.token.refill_rate == tok1.refill_rate);
  CHECK(r.token.cap == tok1.cap);
  CHECK(r.token.profile == tok1.profile);
  CHECK(tok1.totals.consumed <= r.token.totals.consumed);
  CHECK(r.token.totals.consumed <= tok2.totals.consumed);
  CHECK(num(com1, "committed") <= r.num("committer", "committed"));
  CHECK(r.num("committer", "committed") <= num(com2, "committed"));
  CHECK(num(peek1, "peeked") <= r.num("peek-filter", "peeked"));
  CHECK(r.num("peek-filter", "peeked") <= num(peek2, "peeked"));
  for (auto& a : r.actors) {
    INFO(a.name << ": " << a.error);
    CHECK(a.ok);
  }
  CHECK(r.actors.size() == 9);
  CHECK(r.num("introspection", "requests") >= 2);
  CHECK(r.status_of("storage") != nullptr);
  CHECK(r.status_of("token") != nullptr);
  // Stopped: the figures stand still and must agree exactly.
  p.stop_stages();
  auto tok = p.token();
  auto r2 = remote.fetch(p.svc->port());
  CHECK(r2.token.totals.consumed == tok.totals.consumed);
  CHECK(r2.token.totals.granted == tok.totals.granted);
  CHECK(r2.token.totals.consumed_by_stage == tok.totals.consumed_by_stage);
  CHECK(r2.num("committer", "committed") == p.committed());
  CHECK(r2.num("scanner", "candidates")
        == num(p.status(p.h.scanner), "candidates"));
  CHECK(r2.num("peek-filter", "rejected")
        == num(p.status(p.h.peek), "rejected"));
  CHECK(r2.num("client", "requests") == num(p.status(p.h.client), "requests"));
  CHECK(r2.num("storage", "deals-written")
        == num(p.status(p.h.storage), "deals-written"));
  CHECK(r2.counts.deals
        == static_cast<uint64_t>(r2.num("committer", "stored")));
  // The text view names every actor.
  auto text = to_text(r2);
  for (auto name : {"token:", "client:", "storage:", "scanner:", "peek-filter:",
                    "committer:", "updater:"})
    CHECK(text.find(name) != std::string::npos);
}

TEST_CASE("HTTP /status is the report as JSON", "[introspection]") {
  live_pipeline p;
  p.await_committed(1);
  auto before = p.committed();
  std::string type;
  auto body = http_get(p.svc->http_port(), "/status", &type);
  CHECK(type == "application/json");
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  REQUIRE(!doc.HasParseError());
  REQUIRE(doc.IsObject());
  CHECK(doc["unix_ms"].IsInt64());
  auto& tok = doc["token"];
  REQUIRE(tok.IsObject());
  for (auto key : {"balance", "outstanding", "refill_rate", "cap", "floor",
                   "waiting_for", "next_refill_ms", "observation_age_ms"}) {
    INFO(key);
    CHECK(tok[key].IsInt64());
  }
  CHECK(tok["mode"].IsString());
  CHECK(tok["profile"].IsString());
  CHECK(tok["queue"].IsArray());
  CHECK(tok["refill_rate"].GetInt64() == 3000);
  auto& by_stage = tok["totals"]["consumed_by_stage"];
  for (auto key : {"commit", "peek", "scan", "update"}) {
    INFO(key);
    CHECK(by_stage[key].IsInt64());
  }
  CHECK(by_stage["commit"].GetInt64() > 0);
  REQUIRE(doc["storage"].IsObject());
  CHECK(doc["storage"]["deals"].IsUint64());
  auto& deals = doc["deals"];
  for (auto key : {"scanned", "peeked", "committed", "rejected", "updated"}) {
    INFO(key);
    CHECK(deals[key].IsInt64());
  }
  CHECK(deals["committed"].GetInt64() >= before);
  CHECK(deals["committed"].GetInt64() <= p.committed());
  auto& actors = doc["actors"];
  for (auto key : {"token", "client", "probe-client", "storage", "scanner",
                   "peek-filter", "committer", "updater", "introspection"}) {
    INFO(key);
    REQUIRE(actors.HasMember(key));
    CHECK(!actors[key].HasMember("error"));
  }
  CHECK(actors["committer"]["in-flight"].IsInt64());
  CHECK(actors["introspection"]["actor-ids"]["storage"].IsInt64());
  CHECK(body.find(secret_key) == std::string::npos);
  // keepa-status --json prints the same document shape.
  remote_side remote;
  rapidjson::Document doc2;
  doc2.Parse(to_json(remote.fetch(p.svc->port())).c_str());
  REQUIRE(!doc2.HasParseError());
  for (auto& m : doc.GetObject()) {
    INFO(m.name.GetString());
    CHECK(doc2.HasMember(m.name));
  }
}

TEST_CASE("HTTP /metrics is Prometheus text and counters never go back",
          "[introspection]") {
  live_pipeline p;
  p.await_committed(1);
  std::string type;
  auto first = parse_metrics(http_get(p.svc->http_port(), "/metrics", &type));
  CHECK(type.find("text/plain") == 0);
  CHECK(first.samples["keepa_deals_total{stage=\"committed\"}"] >= 1);
  // New good deals come when the simulator's updates make them, which can
  // take longer than a test may wait; a scan pass comes every 5 s and spends
  // tokens, so scrape until the scan counter has moved.
  const std::string scan_tokens
    = "keepa_tokens_consumed_total{purpose=\"scan\"}";
  std::string body;
  scrape second;
  {
    caf::scoped_actor self{p.sys};
    auto deadline = std::chrono::steady_clock::now() + 60s;
    do {
      self->receive(caf::after(std::chrono::milliseconds{200}) >> [] {});
      body = http_get(p.svc->http_port(), "/metrics");
      second = parse_metrics(body);
    } while (second.samples[scan_tokens] <= first.samples[scan_tokens]
             && std::chrono::steady_clock::now() < deadline);
  }
  CHECK(second.samples[scan_tokens] > first.samples[scan_tokens]);
  CHECK(body.find(secret_key) == std::string::npos);
  for (auto series :
       {"keepa_token_balance", "keepa_token_refill_rate",
        "keepa_tokens_consumed_total{purpose=\"commit\"}",
        "keepa_tokens_consumed_total{purpose=\"peek\"}",
        "keepa_tokens_consumed_total{purpose=\"scan\"}",
        "keepa_tokens_consumed_total{purpose=\"update\"}",
        "keepa_deals_total{stage=\"scanned\"}",
        "keepa_deals_total{stage=\"peeked\"}",
        "keepa_deals_total{stage=\"committed\"}",
        "keepa_deals_total{stage=\"rejected\"}",
        "keepa_deals_total{stage=\"updated\"}", "keepa_http_429_total",
        "keepa_errors_total{actor=\"client\"}"}) {
    INFO(series);
    CHECK(second.samples.count(series) == 1);
  }
  CHECK(second.samples["keepa_token_refill_rate"] == 3000);
  size_t counters = 0;
  for (auto& kvp : first.samples) {
    auto family = kvp.first.substr(0, kvp.first.find('{'));
    if (first.types[family] != "counter")
      continue;
    ++counters;
    INFO(kvp.first);
    REQUIRE(second.samples.count(kvp.first) == 1);
    CHECK(second.samples[kvp.first] >= kvp.second);
  }
  CHECK(counters >= 10);
}

TEST_CASE("ports in use: logged, the pipeline runs on", "[introspection]") {
  live_pipeline p;
  introspection_options opts;
  opts.port = p.svc->port();
  opts.http_port = p.svc->http_port();
  log_capture logs;
  introspection_service second{p.sys, p.h, opts, logs.sink()};
  CHECK(second.port() == 0);
  CHECK(second.http_port() == 0);
  auto lines = logs.snapshot();
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].find("introspection: cannot listen on 127.0.0.1:"
                      + std::to_string(opts.port))
        != std::string::npos);
  CHECK(lines[1].find("http: cannot listen on 127.0.0.1:"
                      + std::to_string(opts.http_port))
        != std::string::npos);
  // Both services still answer locally, the first one remotely too.
  CHECK(second.report().token_ok);
  p.await_committed(1);
  remote_side remote;
  CHECK(remote.fetch(p.svc->port()).token_ok);
}

TEST_CASE("nothing listens: a clear error", "[introspection]") {
  keepa::test::refusing_port refusing;
  remote_side remote;
  auto r = fetch_remote_report(remote.sys, "127.0.0.1", refusing.port(), 5s);
  REQUIRE(!r);
  CHECK(r.error() == caf::sec::cannot_connect_to_node);
}
