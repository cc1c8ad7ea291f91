// STORAGE's run counters for the ETA model (actors/analysis/eta_model.hpp):
// what the database held at the start plus what this run counted: its
// running time, the new feed positions tracked, the peeks, passes and
// commits the upserted batches show, and TOKEN's tokens by stage (asked now
// and then). STORAGE writes `total` into system_state with the watermark
// and at every flush, so the counters add up across restarts and lose at
// most what the last watermark did not cover after a crash.

#pragma once

#include <optional>
#include <vector>

#include <caf/actor_clock.hpp>

#include "actors/analysis/eta_model.hpp"
#include "messages/storage.hpp"

namespace keepa {

namespace db {
class backend;
} // namespace db

/// The run counters `db` holds (system_state `run.*`) with its stored deals:
/// what STORAGE starts counting from and keepa-eta --eta.from fits.
/// Malformed counters are ec::invalid_config; a database error is passed on.
caf::expected<run_sample> read_run_sample(db::backend& db);

class run_tally {
public:
  /// Counts from `start`, adding to `before` (read from the database).
  run_tally(run_sample before, caf::actor_clock::time_point start);

  run_tally() = default;

  /// New feed positions tracked.
  void tracked(const std::vector<feed_position>& xs);

  /// Counts the peeks, passes and commits of a stored batch: a committed
  /// deal and a rejection at commit passed a peek; a rejection at peek
  /// failed it; value-bar lets-go and failed requests are no peeks.
  void stored(const upsert_batch& batch);

  /// TOKEN's totals of this run (consumed by stage) and its refill rate.
  void tokens(const std::vector<int64_t>& consumed_by_stage,
              int64_t refill_rate);

  /// Everything so far, as of `now`; `stored_deals` as given.
  run_sample total(caf::actor_clock::time_point now,
                   uint64_t stored_deals) const;

  /// When TOKEN was last asked (none yet: never).
  std::optional<caf::actor_clock::time_point> asked;

private:
  run_sample before_;
  run_sample now_;
  caf::actor_clock::time_point start_;
};

} // namespace keepa
