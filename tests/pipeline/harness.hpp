// The whole pipeline on CAF's test coordinator against keepa-sim's model in
// process, with a SQLite file: days of Keepa traffic in seconds.

#pragma once

#include <cstdio>
#include <filesystem>
#include <map>
#include <unistd.h>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/pipeline.hpp"
#include "tests/fixture.hpp"
#include "tools/keepa-sim/model.hpp"

namespace pipeline_test {

constexpr int64_t t0 = 1790000000000;

/// Good deals (simulator truth) that /deal showed, against the deals in
/// storage.
struct recall_figures {
  size_t good_seen = 0;
  size_t committed = 0;
  /// Good when served, not stored, and updated since: the pipeline may
  /// have seen another book.
  size_t excluded_changed = 0;
  std::vector<std::string> missed;

  std::string missed_list() const {
    std::string result;
    for (auto& x : missed)
      result += (result.empty() ? "" : ", ") + x;
    return result;
  }
};

struct harness : keepa::test::deterministic_fixture {
  std::shared_ptr<keepa::sim::model> model;
  std::filesystem::path dir;
  keepa::pipeline_handles h;
  caf::actor_clock::time_point start;
  int64_t min_balance = INT64_MAX;
  int64_t generated = 0;
  keepa::pipeline_settings settings;

  harness(keepa::sim::options opts, const std::string& name,
          caf::timespan scan_interval = std::chrono::minutes{2}) {
    opts.start_unix_ms = t0;
    model = std::make_shared<keepa::sim::model>(opts);
    dir = std::filesystem::temp_directory_path()
          / ("keepa-pipeline-test-" + name + "-"
             + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    keepa::load_profiles(cfg);
    settings.token = keepa::token_config_from(cfg);
    settings.client.sim = model;
    settings.client.key = opts.key;
    settings.client.seed = 1;
    settings.storage.url = "sqlite:" + (dir / "deals.db").string();
    settings.detached_storage = false;
    auto scan = keepa::scanner_config_from(caf::settings{});
    REQUIRE(scan);
    settings.scan = *scan;
    settings.scan.interval = scan_interval;
    start = now();
    spawn();
    generated = model->balance(t0);
  }

  ~harness() {
    exit_all();
    std::filesystem::remove_all(dir);
  }

  /// Spawns the pipeline on the same simulator and database, at the
  /// current virtual time.
  void spawn() {
    auto s = settings;
    s.client.sim_start_unix_ms = now_ms();
    s.unix0_ms = now_ms();
    auto spawned = keepa::spawn_pipeline(sys, s);
    REQUIRE(spawned);
    h = *spawned;
  }

  /// What keepa-pipeline does on SIGTERM: no new work, in-flight batches
  /// finish or release their grants, storage flushed.
  void shut_down() {
    caf::scoped_actor self{sys};
    auto stop = [&](auto hdl) {
      INFO("stopping " << caf::to_string(hdl));
      self->send(hdl, keepa::atom::stop_v);
      sched.run();
      bool ok = false;
      self->receive([&](caf::ok_atom) { ok = true; },
                    caf::after(std::chrono::seconds{0}) >> [] {});
      CHECK(ok);
    };
    stop(h.scanner);
    stop(h.updater);
    stop(h.peek);
    stop(h.committer);
    self->send(h.storage, keepa::atom::flush_v);
    sched.run();
    bool flushed = false;
    self->receive([&](caf::ok_atom) { flushed = true; },
                  caf::after(std::chrono::seconds{0}) >> [] {});
    CHECK(flushed);
  }

  /// Ends every actor of the pipeline at once (a crash, seen from the
  /// database: whatever was in flight is gone).
  void exit_all() {
    for (auto& kvp : keepa::status_actors(h))
      caf::anon_send_exit(kvp.second, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(h.probe_client, caf::exit_reason::user_shutdown);
    sched.run();
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

  /// Tokens the plan generated from the start until `now_ms`: the starting
  /// balance plus one refill per minute begun (an upper bound).
  int64_t generated_until(int64_t now_ms) const {
    return generated + model->opts().refill_rate * ((now_ms - t0) / 60000 + 1);
  }

  /// Stops the scanner; the other stages finish what they hold.
  void stop_scanner() {
    caf::scoped_actor self{sys};
    self->send(h.scanner, keepa::atom::stop_v);
    sched.run();
  }

  /// Of the deals /deal served while they were good, how many are stored.
  /// One that is not stored and whose book changed after it was served is
  /// left out: the pipeline may have fetched the changed book.
  recall_figures recall() {
    recall_figures r;
    std::vector<keepa::sim::model::served_deal> good;
    std::vector<std::string> asins;
    for (auto& s : model->served_deals())
      if (s.good) {
        good.push_back(s);
        asins.push_back(s.asin);
      }
    caf::scoped_actor self{sys};
    self->send(h.storage, keepa::atom::known_v, asins);
    sched.run();
    std::map<std::string, keepa::asin_memory> known;
    self->receive(
      [&](std::vector<keepa::asin_memory>& mem) {
        for (auto& m : mem)
          known.emplace(m.asin, m);
      },
      caf::after(std::chrono::seconds{0}) >> [] {});
    for (auto& s : good) {
      auto i = known.find(s.asin);
      if (i != known.end() && i->second.stored) {
        ++r.committed;
      } else if (!s.unchanged) {
        ++r.excluded_changed;
        continue;
      } else {
        r.missed.push_back(s.asin
                           + (i != known.end() ? " (rejected)" : ""));
      }
      ++r.good_seen;
    }
    return r;
  }

  /// The stage counters and token totals in one line.
  std::string summary() {
    auto ts = token_status();
    auto st = [&](auto hdl) {
      return status(caf::actor_cast<keepa::status_client_actor>(hdl));
    };
    auto scanner = st(h.scanner);
    auto peek = st(h.peek);
    auto commit = st(h.committer);
    auto update = st(h.updater);
    auto n = [](const caf::settings& xs, const char* key) {
      return std::to_string(caf::get_or(xs, key, int64_t{0}));
    };
    keepa::storage_counts counts;
    {
      caf::scoped_actor self{sys};
      self->send(h.storage, keepa::atom::counts_v);
      sched.run();
      self->receive([&](keepa::storage_counts& c) { counts = c; },
                    caf::after(std::chrono::seconds{0}) >> [] {});
    }
    return "scanned " + n(scanner, "candidates") + ", pre-rejected "
           + n(scanner, "pre-rejected") + ", remembered "
           + n(scanner, "remembered") + ", peeked " + n(peek, "peeked")
           + ", survived " + n(peek, "survived") + ", committed "
           + n(commit, "committed") + " (stored deals "
           + std::to_string(counts.deals) + "), refreshed "
           + n(update, "refreshed")
           + "; consumed " + std::to_string(ts.totals.consumed)
           + ", lost at cap " + std::to_string(ts.totals.lost_at_cap)
           + ", min balance " + std::to_string(min_balance) + " (floor "
           + std::to_string(ts.floor) + "), grants "
           + std::to_string(ts.totals.grants) + ", waits "
           + std::to_string(ts.totals.waits);
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
