// The shared budget over real loopback sockets (issue 22): a budget server
// (TOKEN published over CAF's OpenSSL module, what keepa-token runs) in
// an actor system of its own, and pipelines or raw peers in others, each
// its own middleman node, as separate processes would be. keepa-sim serves
// the Keepa side. Every wait is bounded (polls of 50-100 ms against a
// deadline); every server and system is stopped at the end.

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <future>
#include <memory>

#include <unistd.h>

#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/openssl/remote_actor.hpp>

#include "actors/pipeline/introspection.hpp"
#include "actors/pipeline/pipeline.hpp"
#include "actors/pipeline/report.hpp"
#include "tests/support/scratch_dir.hpp"
#include "tests/support/loopback.hpp"
#include "tests/support/loopback_pipeline.hpp"
#include "tests/support/run_program.hpp"
#include "tools/keepa-pipeline/budget.hpp"
#include "tools/keepa-pipeline/collect.hpp"

using namespace client_test;
using namespace keepa;

namespace {

/// The directory of this test run, removed at its end.
const test::scratch_dir& this_run() {
  static test::scratch_dir dir{"keepa-budget-run"};
  return dir;
}

std::string owner_tls() {
  return (this_run().dir / "tls").string();
}

/// Polls `pred` every 50 ms (a receive timeout of `self`) until it holds or
/// `limit` passed; returns whether it holds.
template<class Pred>
bool await(caf::scoped_actor& self, Pred pred,
           caf::timespan limit = std::chrono::seconds{30}) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    self->receive(caf::after(std::chrono::milliseconds{50}) >> [] {});
  }
  return true;
}

/// What keepa-token runs: TOKEN without a probe, published on loopback
/// over CAF's OpenSSL module with the owner's server certificate.
struct budget_server {
  threaded_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  token_actor token;
  uint16_t port = 0;

  explicit budget_server(uint16_t at = 0) {
    auto err = prepare_budget_server(cfg, "127.0.0.1", owner_tls());
    REQUIRE(!err);
    sys = std::make_unique<caf::actor_system>(cfg);
    auto tcfg = token_config_from(cfg);
    tcfg.profile_name = "auto";
    token = sys->spawn(keepa::token, tcfg);
    // The port of a server that just died may linger a moment.
    caf::scoped_actor self{*sys};
    caf::expected<uint16_t> bound{caf::sec::cannot_publish_invalid_actor};
    REQUIRE(await(self, [&] {
      bound = caf::openssl::publish(token, at, "127.0.0.1", true);
      return static_cast<bool>(bound);
    }));
    port = *bound;
  }

  /// Ends the server as a killed process would: its connections close.
  ~budget_server() {
    caf::anon_send_exit(token, caf::exit_reason::kill);
    token = nullptr;
    sys.reset();
  }

  token_status snapshot() {
    caf::scoped_actor self{*sys};
    token_status result;
    self->request(token, std::chrono::seconds{5}, atom::snapshot_v)
      .receive([&](token_status& st) { result = std::move(st); },
               [](caf::error& err) { FAIL(caf::to_string(err)); });
    return result;
  }

  int64_t status_num(const char* key) {
    caf::scoped_actor self{*sys};
    int64_t result = -1;
    self->request(token, std::chrono::seconds{5}, atom::status_v)
      .receive([&](caf::settings& xs) { result = caf::get_or(xs, key, -1); },
               [](caf::error& err) { FAIL(caf::to_string(err)); });
    return result;
  }
};

/// A CAF program of another process with the given certificates (none:
/// TLS without a certificate; `tls` false: plain BASP).
struct peer_config : caf::actor_system_config {
  explicit peer_config(bool tls, const tls_files* files = nullptr) {
    keepa::add_message_types(*this);
    load<caf::io::middleman>();
    if (tls)
      load<caf::openssl::manager>();
    if (files != nullptr)
      use_tls_files(*this, *files);
    set("scheduler.max-threads", 2);
    set("logger.console-verbosity", caf::atom("quiet"));
  }
};

tls_files owner_client_files() {
  auto files = owner_tls_files(owner_tls(), tls_role::client);
  REQUIRE(files);
  return *files;
}

/// A certificate of a CA of the stranger's own.
tls_files stranger_files() {
  auto dir = (this_run().dir / "stranger").string();
  std::filesystem::create_directories(dir);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
  REQUIRE(owner_tls_files(dir + "/tls", tls_role::server));
  auto files = owner_tls_files(dir + "/tls", tls_role::client);
  REQUIRE(files);
  return *files;
}

std::atomic<int> instance{0};

/// A keepa-pipeline process's actors, spending from the budget server at
/// `port` (--keepa.token.remote), with the owner's client certificate.
struct remote_pipeline {
  threaded_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  log_capture logs;
  std::filesystem::path dir;
  pipeline_handles h;

  remote_pipeline(const sim_server& srv, uint16_t port) {
    REQUIRE(!prepare_budget_client(cfg, false, owner_tls()));
    sys = std::make_unique<caf::actor_system>(cfg);
    dir = this_run().dir / ("pipeline-" + std::to_string(++instance));
    std::filesystem::create_directories(dir);
    auto s = loopback_pipeline_settings(token_config_from(cfg), srv, dir, logs);
    s.token_remote = "127.0.0.1:" + std::to_string(port);
    s.token_connector = sys->openssl_manager().actor_handle();
    auto spawned = spawn_pipeline(*sys, s);
    REQUIRE(spawned);
    h = *spawned;
  }

  /// What keepa-pipeline does on SIGTERM: no new work (requests in flight
  /// finish), storage flushed.
  void stop() {
    caf::scoped_actor self{*sys};
    for (auto& [name, hdl] : stop_order(h))
      self->request(hdl, std::chrono::seconds{10}, atom::stop_v)
        .receive([](caf::ok_atom) {}, [](caf::error&) {});
    self->request(h.storage, std::chrono::seconds{10}, atom::flush_v)
      .receive([](caf::ok_atom) {}, [](caf::error&) {});
  }

  ~remote_pipeline() {
    stop();
    for (auto& kvp : status_actors(h))
      caf::anon_send_exit(kvp.second, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(h.probe_client, caf::exit_reason::user_shutdown);
    h = pipeline_handles{};
    sys.reset();
  }

  template<class Handle>
  caf::settings status(const Handle& hdl) {
    caf::scoped_actor self{*sys};
    caf::settings result;
    self->request(hdl, std::chrono::seconds{5}, atom::status_v)
      .receive([&](caf::settings& xs) { result = std::move(xs); },
               [](caf::error& err) { FAIL(caf::to_string(err)); });
    return result;
  }

  int64_t num(const caf::settings& xs, const char* key) {
    return caf::get_or(xs, key, int64_t{0});
  }

  int64_t committed() {
    return num(status(h.committer), "committed");
  }

  int64_t requests() {
    return num(status(h.client), "requests");
  }

  bool connected() {
    return caf::get_or(status(h.token), "link.connected", false);
  }

  /// The status line keepa-pipeline prints.
  std::string line() {
    caf::scoped_actor self{*sys};
    auto relay = spawn_introspection(*sys, directory_of(h), h.storage);
    auto r = collect_report(self, directory_of(h), relay,
                            std::chrono::seconds{5}, report_scope::status_line);
    caf::anon_send_exit(relay, caf::exit_reason::user_shutdown);
    return status_line(r);
  }
};

} // namespace

TEST_CASE("a pipeline spends from a remote budget server", "[budget][remote]") {
  sim_server srv{busy_sim()};
  budget_server server;
  remote_pipeline p{srv, server.port};
  caf::scoped_actor self{*p.sys};
  // No key on the server: it learns the balance from the link's /token
  // probe, then grants, and every answer's envelope is settled with it.
  REQUIRE(await(
    self, [&] { return p.committed() >= 5; }, std::chrono::seconds{60}));
  auto st = server.snapshot();
  CHECK(st.mode != "unknown");
  CHECK(st.totals.grants > 0);
  CHECK(st.totals.settled_grants > 0);
  CHECK(st.totals.consumed > 0);
  CHECK(p.connected());
  CHECK(p.num(p.status(p.h.token), "link.probes") >= 1);
  // What the pipeline shows as TOKEN is the server's.
  CHECK(p.line().find("unreachable") == std::string::npos);
}

TEST_CASE("each pipeline's TOKEN shows its own spending, the server the "
          "whole key's",
          "[budget][remote]") {
  sim_server srv{busy_sim()};
  budget_server server;
  remote_pipeline a{srv, server.port};
  remote_pipeline b{srv, server.port};
  caf::scoped_actor self{*a.sys};
  REQUIRE(await(
    self, [&] { return a.committed() >= 3 && b.committed() >= 3; },
    std::chrono::seconds{60}));
  auto snapshot = [&](remote_pipeline& p) {
    caf::scoped_actor s{*p.sys};
    token_status result;
    s->request(p.h.token, std::chrono::seconds{5}, atom::snapshot_v)
      .receive([&](token_status& x) { result = std::move(x); },
               [](caf::error& err) { FAIL(caf::to_string(err)); });
    return result;
  };
  // Stopped, so their totals are final; a link counts a settlement before
  // it reaches the server (another process), so the server's totals are
  // read once it has every settlement the two counted (they raced under
  // load: the sum was ahead of the key's by a settlement in flight).
  a.stop();
  b.stop();
  auto ta = snapshot(a).totals;
  auto tb = snapshot(b).totals;
  CHECK(await(self, [&] {
    return server.snapshot().totals.settled_grants
      >= ta.settled_grants + tb.settled_grants;
  }));
  auto key = server.snapshot().totals;
  INFO("consumed: a " << ta.consumed << ", b " << tb.consumed << ", key "
                      << key.consumed);
  CHECK(ta.consumed > 0);
  CHECK(tb.consumed > 0);
  // Each shows its own part: together at most what the key spent (the
  // server's snapshot is the latest). Showing the server's totals, each
  // pipeline's was about the whole key's, and the two nearly twice it.
  CHECK(ta.consumed + tb.consumed <= key.consumed);
  CHECK(ta.grants + tb.grants <= key.grants);
  for (auto& t : {ta, tb}) {
    int64_t by_stage = 0;
    for (auto x : t.consumed_by_stage)
      by_stage += x;
    CHECK(by_stage == t.consumed);
  }
}

TEST_CASE("the budget server dies: clients stop spending at once, say so, "
          "reconnect and resume",
          "[budget][remote][failure]") {
  sim_server srv{busy_sim()};
  auto server = std::make_unique<budget_server>();
  auto port = server->port;
  remote_pipeline p{srv, port};
  caf::scoped_actor self{*p.sys};
  REQUIRE(await(
    self, [&] { return p.committed() >= 5; }, std::chrono::seconds{60}));
  // Killed: its connection closes.
  server.reset();
  REQUIRE(await(self, [&] { return !p.connected(); }));
  auto line = p.line();
  INFO(line);
  CHECK(line.find("budget server unreachable") != std::string::npos);
  auto link = p.status(p.h.token);
  CHECK(caf::get_or(link, "mode", std::string{}).find("unreachable")
        != std::string::npos);
  // Requests granted before the end may still finish; after them, none.
  auto requests = p.requests();
  REQUIRE(await(self, [&] {
    auto now = p.requests();
    auto settled = now == requests;
    requests = now;
    return settled;
  }));
  // The stages keep asking (the scanner's next pass comes within 5 s) and
  // are told to wait, spending nothing.
  auto refused = p.num(p.status(p.h.token), "link.refused-acquires");
  REQUIRE(await(self, [&] {
    return p.num(p.status(p.h.token), "link.refused-acquires") > refused + 1;
  }));
  CHECK(p.requests() == requests);
  CHECK(p.num(p.status(p.h.token), "link.failed-attempts") > 0);
  // A new server on the same port: the link reconnects, the server learns
  // the balance from the link's /token probe before it grants, and the
  // stages spend from it again.
  server = std::make_unique<budget_server>(port);
  REQUIRE(await(self, [&] { return p.connected(); }));
  REQUIRE(await(self, [&] { return server->snapshot().totals.grants > 0; }));
  REQUIRE(await(self, [&] { return p.requests() > requests; }));
  CHECK(
    await(self, [&] { return server->snapshot().totals.settled_grants > 0; }));
  CHECK(p.line().find("unreachable") == std::string::npos);
  for (auto name : {"scanner", "peek-filter", "committer"})
    for (auto& kvp : status_actors(p.h))
      if (kvp.first == name)
        CHECK(caf::get_or(p.status(kvp.second), "last-error", std::string{})
              == "");
}

TEST_CASE("a client process that goes down has its grants ended at once",
          "[budget][remote][failure]") {
  budget_server server;
  auto files = owner_client_files();
  auto observe = [](caf::scoped_actor& self, const token_actor& token,
                    int64_t left, int64_t ts) {
    settlement s;
    s.tokens_left = left;
    s.refill_in_ms = 30000;
    s.refill_rate = 20;
    s.server_timestamp_ms = ts;
    self->send(token, atom::settle_v, s);
  };
  auto t0 = wall_ms();
  std::chrono::steady_clock::time_point gone;
  {
    peer_config cfg{true, &files};
    caf::actor_system sys{cfg};
    auto token = caf::openssl::remote_actor<token_actor>(sys, "127.0.0.1",
                                                         server.port);
    REQUIRE(token);
    caf::scoped_actor self{sys};
    observe(self, *token, 500, t0);
    token_grant grant;
    bool granted = false;
    REQUIRE(await(self, [&] {
      self
        ->request(*token, std::chrono::seconds{5}, atom::acquire_v,
                  token_request{"peer", stage::commit, 100, 0})
        .receive(
          [&](token_reply& r) {
            if (auto* g = caf::get_if<token_grant>(&r)) {
              grant = *g;
              granted = true;
            }
          },
          [](caf::error& err) { FAIL(caf::to_string(err)); });
      return granted;
    }));
    CHECK(server.snapshot().outstanding == 100);
    gone = std::chrono::steady_clock::now();
  } // The peer's system ends: its connection closes, as on kill -9.
  caf::scoped_actor self{*server.sys};
  REQUIRE(await(
    self, [&] { return server.status_num("orphaned-grants") == 1; },
    std::chrono::seconds{10}));
  auto took = std::chrono::steady_clock::now() - gone;
  WARN("grants of the dead peer ended after "
       << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
       << " ms");
  // Keepa may have run it: its cost stays subtracted until the next newer
  // observation (of any other client), then nothing is outstanding.
  auto st = server.snapshot();
  CHECK(st.totals.settled_grants == 1);
  peer_config cfg{true, &files};
  caf::actor_system sys{cfg};
  auto token = caf::openssl::remote_actor<token_actor>(sys, "127.0.0.1",
                                                       server.port);
  REQUIRE(token);
  caf::scoped_actor other{sys};
  observe(other, *token, 480, t0 + 1000);
  REQUIRE(await(
    self, [&] { return server.snapshot().outstanding == 0; },
    std::chrono::seconds{10}));
}

TEST_CASE("a client without a certificate of the owner's CA acquires nothing",
          "[budget][security]") {
  budget_server server;
  auto other = stranger_files();
  auto try_acquire = [&](peer_config& cfg, bool tls) {
    caf::actor_system sys{cfg};
    // CAF's remote_actor has no timeout: bound it.
    auto connecting = std::async(std::launch::async, [&] {
      return tls
        ? caf::openssl::remote_actor<token_actor>(sys, "127.0.0.1", server.port)
        : sys.middleman().remote_actor<token_actor>("127.0.0.1", server.port);
    });
    REQUIRE(connecting.wait_for(std::chrono::seconds{20})
            == std::future_status::ready);
    auto hdl = connecting.get();
    CHECK(!hdl);
  };
  {
    peer_config plain{false};
    INFO("plain BASP");
    try_acquire(plain, false);
  }
  {
    peer_config anonymous{true};
    INFO("TLS without a certificate");
    try_acquire(anonymous, true);
  }
  {
    peer_config wrong{true, &other};
    INFO("TLS with a certificate of another CA");
    try_acquire(wrong, true);
  }
  auto st = server.snapshot();
  CHECK(st.totals.grants == 0);
  CHECK(st.totals.waits == 0);
  CHECK(st.totals.settlements == 0);
}

TEST_CASE("keepa-token refuses a non-loopback binding without certificates",
          "[budget][security]") {
  auto out = test::run_program(
    std::string{"XDG_RUNTIME_DIR="} + this_run().dir.string()
    + " timeout -s KILL 20 " KEEPA_TOKEN_EXE " --keepa.token.host=0.0.0.0"
      " --keepa.token.port=0");
  INFO(out.output);
  CHECK(out.exit_code == 2);
  CHECK(out.output.find("is not a loopback address") != std::string::npos);
  CHECK(out.output.find("--openssl.certificate") != std::string::npos);
}
