// keepa-sim over real sockets on 127.0.0.1 and a KEEPA CLIENT (plus a TOKEN
// actor) on a real 2-thread scheduler. Every wait is bounded.

#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/client/keepa_client.hpp"
#include "actors/token/token.hpp"
#include "config/pipeline_config.hpp"
#include "messages/error.hpp"
#include "messages/keepa.hpp"
#include "messages/token.hpp"
#include "tools/keepa-sim/model.hpp"
#include "tools/keepa-sim/server.hpp"

namespace client_test {

using namespace std::chrono_literals;

/// A key with characters that URL encoding changes.
inline const std::string secret_key = "s3cr3t+K3Y/with=odd&chars";

/// Wall-clock start of the simulated catalogue (the server runs on the
/// wall clock).
inline int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

struct threaded_config : keepa::pipeline_config {
  threaded_config() {
    set("scheduler.max-threads", 2);
    set("logger.file-verbosity", caf::atom("quiet"));
    keepa::load_profiles(*this);
  }
};

/// Collects log lines from the client (any thread).
struct log_capture {
  std::mutex mtx;
  std::vector<std::string> lines;

  keepa::log_sink sink() {
    return [this](const std::string& line) {
      std::lock_guard<std::mutex> guard{mtx};
      lines.push_back(line);
    };
  }

  std::vector<std::string> snapshot() {
    std::lock_guard<std::mutex> guard{mtx};
    return lines;
  }
};

/// keepa-sim serving `opts` on a free loopback port in a thread.
struct sim_server {
  std::shared_ptr<keepa::sim::model> model;
  std::unique_ptr<keepa::sim::server> http;
  std::thread runner;
  int port = -1;

  explicit sim_server(keepa::sim::options opts, int threads = 20) {
    if (opts.start_unix_ms == 0)
      opts.start_unix_ms = wall_ms();
    model = std::make_shared<keepa::sim::model>(opts);
    keepa::sim::server_options so;
    so.threads = threads;
    http = std::make_unique<keepa::sim::server>(*model, so);
    port = http->bind();
    runner = std::thread{[this] { http->run(); }};
    for (int i = 0; i < 2000 && !http->running(); ++i)
      std::this_thread::yield();
  }

  ~sim_server() {
    http->stop();
    runner.join();
  }

  std::string endpoint() const {
    return "http://127.0.0.1:" + std::to_string(port);
  }
};

inline keepa::sim::options sim_options(std::string key = secret_key) {
  keepa::sim::options o;
  o.key = std::move(key);
  o.products = 400;
  o.refill_rate = 20;
  return o;
}

/// A client (and a TOKEN actor it settles with) against a server.
struct loopback {
  threaded_config cfg;
  caf::actor_system sys{cfg};
  log_capture logs;
  keepa::token_actor token;
  keepa::keepa_client_actor client;

  loopback(const sim_server& srv, keepa::client_config cc = {}) {
    keepa::token_config tc = keepa::token_config_from(cfg);
    token = sys.spawn(keepa::token, tc);
    cc.endpoint = srv.endpoint();
    if (cc.key.empty())
      cc.key = secret_key;
    cc.token = token;
    cc.log = logs.sink();
    cc.seed = 42;
    client = keepa::spawn_keepa_client(sys, std::move(cc));
  }

  ~loopback() {
    caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(token, caf::exit_reason::user_shutdown);
  }

  /// Tells TOKEN the balance is `balance` now (as if Keepa said so).
  void observe(int64_t balance) {
    keepa::settlement s;
    s.tokens_left = balance;
    s.refill_in_ms = 30000;
    s.refill_rate = 20;
    s.server_timestamp_ms = wall_ms();
    caf::anon_send(token, keepa::atom::settle_v, s);
  }

  /// A grant of `cost` for stage `what` (fails the test on a wait).
  uint64_t grant(int64_t cost, keepa::stage what = keepa::stage::peek) {
    caf::scoped_actor self{sys};
    uint64_t id = 0;
    keepa::token_request req{"test", what, cost, 0};
    self->request(token, 5s, keepa::atom::acquire_v, req)
      .receive(
        [&](keepa::token_reply& r) {
          if (auto* g = caf::get_if<keepa::token_grant>(&r))
            id = g->grant_id;
        },
        [&](const caf::error&) {});
    return id;
  }

  keepa::token_status snapshot() {
    caf::scoped_actor self{sys};
    keepa::token_status result;
    self->request(token, 5s, keepa::atom::snapshot_v)
      .receive([&](const keepa::token_status& st) { result = st; },
               [&](const caf::error&) {});
    return result;
  }

  /// Sends `xs` to the client; returns the answer or the error.
  template<class Answer, class... Ts>
  caf::expected<Answer> ask(Ts... xs) {
    caf::scoped_actor self{sys};
    caf::expected<Answer> result{caf::error{}};
    self->request(client, 60s, xs...)
      .receive([&](Answer& x) { result = std::move(x); },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }
};

inline keepa::product_query products(std::vector<std::string> asins,
                                     uint64_t grant_id) {
  keepa::product_query q;
  q.grant_id = grant_id;
  q.asins = std::move(asins);
  q.stats = "365";
  return q;
}

inline std::vector<std::string> first(const keepa::sim::model& m, size_t n) {
  auto all = m.asins();
  all.resize(std::min(n, all.size()));
  return all;
}

inline bool is(const caf::error& err, keepa::ec code) {
  return err == code;
}

} // namespace client_test
