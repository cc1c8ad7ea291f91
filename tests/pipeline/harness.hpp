// The whole pipeline on CAF's test coordinator against keepa-sim's model in
// process, with a SQLite file: days of Keepa traffic in seconds.

#pragma once

#include <cstdio>
#include <filesystem>
#include <unistd.h>
#include <memory>
#include <string>

#include <catch2/catch.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/pipeline.hpp"
#include "tests/fixture.hpp"
#include "tools/keepa-sim/model.hpp"

namespace pipeline_test {

constexpr int64_t t0 = 1790000000000;

struct harness : keepa::test::deterministic_fixture {
  std::shared_ptr<keepa::sim::model> model;
  std::filesystem::path dir;
  keepa::pipeline_handles h;
  caf::actor_clock::time_point start;
  int64_t min_balance = INT64_MAX;
  int64_t generated = 0;

  explicit harness(keepa::sim::options opts, const std::string& name) {
    opts.start_unix_ms = t0;
    model = std::make_shared<keepa::sim::model>(opts);
    dir = std::filesystem::temp_directory_path()
          / ("keepa-pipeline-test-" + name + "-"
             + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    keepa::load_profiles(cfg);
    keepa::pipeline_settings s;
    s.token = keepa::token_config_from(cfg);
    s.client.sim = model;
    s.client.sim_start_unix_ms = t0;
    s.client.key = opts.key;
    s.client.seed = 1;
    s.storage.url = "sqlite:" + (dir / "deals.db").string();
    s.detached_storage = false;
    auto scan = keepa::scanner_config_from(caf::settings{});
    REQUIRE(scan);
    s.scan = *scan;
    s.scan.interval = std::chrono::minutes{2};
    s.unix0_ms = t0;
    start = now();
    auto spawned = keepa::spawn_pipeline(sys, s);
    REQUIRE(spawned);
    h = *spawned;
    generated = model->balance(t0);
  }

  ~harness() {
    for (auto& kvp : keepa::status_actors(h))
      caf::anon_send_exit(kvp.second, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(h.probe_client, caf::exit_reason::user_shutdown);
    sched.run();
    std::filesystem::remove_all(dir);
  }

  int64_t now_ms() {
    return t0
           + std::chrono::duration_cast<std::chrono::milliseconds>(now()
                                                                   - start)
               .count();
  }

  /// Runs for `d` of virtual time, sampling Keepa's real balance after
  /// every step.
  void run_for(caf::timespan d) {
    auto end = now() + d;
    sched.run();
    while (sched.has_pending_timeout()
           && sched.clock().schedule().begin()->first <= end) {
      sched.trigger_timeout();
      sched.run();
      min_balance = std::min(min_balance, model->balance(now_ms()));
    }
    if (now() < end)
      sched.advance_time(end - now());
    sched.run();
  }

  caf::settings status(const keepa::status_client_actor& a) {
    caf::scoped_actor self{sys};
    caf::settings result;
    self->send(a, keepa::atom::status_v);
    sched.run();
    self->receive([&](caf::settings& xs) { result = std::move(xs); },
                  caf::after(std::chrono::seconds{0}) >> [] {});
    return result;
  }

  keepa::token_status token_status() {
    caf::scoped_actor self{sys};
    keepa::token_status result;
    self->send(h.token, keepa::atom::snapshot_v);
    sched.run();
    self->receive([&](keepa::token_status& st) { result = std::move(st); },
                  caf::after(std::chrono::seconds{0}) >> [] {});
    return result;
  }
};

inline int64_t get_int(const caf::settings& xs, const char* key) {
  return caf::get_or(xs, key, int64_t{0});
}

} // namespace pipeline_test
