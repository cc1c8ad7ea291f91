// The whole pipeline on CAF's test coordinator against keepa-sim's model in
// process, with a SQLite file: days of Keepa traffic in milliseconds to
// seconds. The pipeline tests, keepa-eta and keepa-bench all drive the real
// actors through this class.

#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/fwd.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/timespan.hpp>

#include "actors/pipeline/pipeline.hpp"
#include "actors/pipeline/report.hpp"
#include "config/pipeline_config.hpp"
#include "tools/keepa-sim/model.hpp"

namespace keepa {

/// An actor system config for virtual time: CAF's `testing` scheduler
/// policy, no logging, no network.
struct virtual_time_config : pipeline_config {
  virtual_time_config();
};

/// Good deals (simulator truth) that /deal showed, against the deals in
/// storage.
struct recall_figures {
  size_t good_seen = 0;
  size_t committed = 0;
  /// Good when served, not stored, and updated since: the pipeline may
  /// have seen another book.
  size_t excluded_changed = 0;
  std::vector<std::string> missed;

  std::string missed_list() const;

  /// committed / good_seen, 1 if nothing good was seen.
  double ratio() const {
    return good_seen == 0 ? 1.0 : double(committed) / double(good_seen);
  }
};

/// keepa-pipeline's token, analysis, updater and peek-filter settings as a
/// user's configuration holds them (profile file, keepa.profile,
/// keepa.analysis.*, keepa.update.*, keepa.peek.*), for tools that run the
/// pipeline.
struct run_config {
  token_config token;
  analysis_config analysis;
  updater_config update;
  /// keepa.peek.* (the value gate's horizon, max-wait, ...).
  peek_filter_config peek;
  /// keepa.scan.* as keepa-pipeline reads them (interval, backlog bound,
  /// price bands, slices, source), on the simulator's deal and Product
  /// Finder queries and locale: its catalogue holds books of one locale.
  scanner_config scan;
  /// Whether keepa.scan.interval was given; the run's own interval (the
  /// tool's option) stands otherwise.
  bool scan_interval_given = false;
};

caf::expected<run_config> run_config_from(const pipeline_config& cfg);

class virtual_run {
public:
  /// The simulator's clock at the start (Unix ms).
  static constexpr int64_t t0 = 1790000000000;

  /// Creates the simulator and settings for a fresh SQLite file in a
  /// temporary directory named after `name`. Change `settings` (filters,
  /// profiles) as needed, then call spawn().
  virtual_run(sim::options opts, const std::string& name,
              caf::timespan scan_interval = std::chrono::minutes{2});

  virtual ~virtual_run();

  virtual_run(const virtual_run&) = delete;
  virtual_run& operator=(const virtual_run&) = delete;

  virtual_time_config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched;
  std::shared_ptr<sim::model> model;
  std::filesystem::path dir;
  pipeline_handles h;
  caf::actor_clock::time_point start;
  /// Keepa's real balance (simulator), sampled after every step.
  int64_t min_balance = INT64_MAX;
  /// The simulator's balance at the start.
  int64_t initial_balance = 0;
  pipeline_settings settings;

  caf::actor_clock::time_point now() {
    return sched.clock().now();
  }

  /// The virtual Unix time in ms.
  int64_t now_ms();

  /// Takes the token, analysis, updater, peek and scan settings of `x`. The
  /// scan interval is the run's own (its constructor's) when the tool's
  /// option for it was given (`own_interval`) or keepa.scan.interval was
  /// not; otherwise keepa.scan.interval.
  void apply(const run_config& x, bool own_interval = false);

  /// Spawns the pipeline on the same simulator and database, at the
  /// current virtual time.
  caf::error spawn();

  /// What keepa-pipeline does on SIGTERM: no new work, in-flight batches
  /// finish or release their grants, storage flushed. Returns the names of
  /// the actors that did not confirm.
  std::vector<std::string> shut_down();

  /// Ends every actor of the pipeline at once (a crash, seen from the
  /// database: whatever was in flight is gone).
  void exit_all();

  /// Runs for `d` of virtual time, sampling Keepa's real balance after
  /// every step.
  void run_for(caf::timespan d);

  /// Tokens the plan generated from the start until `ms`: the starting
  /// balance plus one refill per minute begun (an upper bound).
  int64_t generated_until(int64_t ms) const;

  /// Stops the scanner between passes; the other stages finish what they
  /// hold. A stop drops the pass it interrupts (none of it was handed on,
  /// so the watermark stays below it and the next start reads it again),
  /// while recall() counts every deal /deal served: so a pass in progress
  /// is let finish first, for at most `limit` of virtual time.
  void stop_scanner(caf::timespan limit = std::chrono::hours{1});

  /// Of the deals /deal served while they were good, how many are stored.
  /// One that is not stored and whose book changed after it was served is
  /// left out: the pipeline may have fetched the changed book.
  recall_figures recall();

  /// TOKEN's snapshot, STORAGE's counts and every actor's status, as
  /// keepa-status reports a running keepa-pipeline.
  pipeline_report report();

  /// The stage counters and token totals in one line.
  std::string summary();

  caf::settings status(const status_client_actor& a);

  template<class Handle>
  caf::settings status_of(const Handle& a) {
    return status(caf::actor_cast<status_client_actor>(a));
  }

  keepa::token_status token_status();

  storage_counts counts();

  /// Stored deals (cheaper than counts()).
  uint64_t deal_count();

  /// Every stored deal (one per ASIN).
  std::vector<deal_record> stored_deals();
};

int64_t get_int(const caf::settings& xs, const char* key);

} // namespace keepa
