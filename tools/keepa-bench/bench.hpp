// keepa-bench's core: the real pipeline actors in virtual time against the
// in-process simulator, once per plan and token strategy — ours and the
// seeds' (../shared/seeds/) re-implemented as TOKEN policies — on the same
// catalogue for the same virtual time.

#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/timespan.hpp>

#include "tools/keepa-sim/model.hpp"

namespace keepa {

class pipeline_config;
struct pipeline_settings;

/// One way of spending tokens: a name and what it changes in the settings
/// of keepa-pipeline as configured.
struct bench_strategy {
  std::string name;
  /// Where it comes from, for the report.
  std::string origin;
  std::function<void(pipeline_settings&)> apply;
};

/// keepa-pipeline as configured, then the seeds' strategies, then the
/// Python client's "wait while the balance is <= 0".
std::vector<bench_strategy> bench_strategies();

struct bench_options {
  /// Plans (tokens per minute).
  std::vector<int64_t> rates{5, 20, 60, 250};
  /// Strategy names to run; empty = all.
  std::vector<std::string> only;
  /// Virtual time per run.
  caf::timespan duration = std::chrono::hours{24};
  /// Balance samples for the plot (the minimum is exact regardless).
  caf::timespan sample = std::chrono::minutes{1};
  caf::timespan scan_interval = std::chrono::minutes{5};
  /// The catalogue (products, good_fraction, peek_pass_fraction, seed);
  /// refill_rate and update_rate are set per plan.
  sim::options sim;
  /// Book updates per minute per token per minute of the plan, so the feed
  /// always offers more than the plan can peek.
  double updates_per_token = 1.2;
  /// Runs in parallel (each run has its own actor system).
  size_t jobs = 1;
};

/// One balance sample: virtual minutes since the start, Keepa's balance
/// then, and its lowest value since the previous sample.
struct balance_sample {
  double minutes;
  int64_t balance;
  int64_t lowest;
};

/// The figures of one run.
struct bench_row {
  int64_t rate = 0;
  std::string strategy;
  double hours = 0;
  /// Deals the committer stored, and deals per hour.
  uint64_t committed = 0;
  /// Good deals (simulator truth) /deal showed, and how many are stored.
  uint64_t good_seen = 0;
  uint64_t good_committed = 0;
  int64_t consumed = 0;
  int64_t generated = 0;
  /// Keepa's lowest balance (the simulator's, sampled after every step).
  int64_t min_balance = 0;
  uint64_t http_429 = 0;
  /// TOKEN's held-back time: a request waited, the projected balance was
  /// positive, nothing was granted. Longest span and total.
  caf::timespan longest_idle{0};
  caf::timespan idle_total{0};
  /// Tokens the peek-filter consumed and the ASINs it peeked.
  int64_t peek_tokens = 0;
  uint64_t peeked = 0;
  std::chrono::milliseconds wall{0};
  std::vector<balance_sample> balance;

  double deals_per_hour() const {
    return hours > 0 ? double(committed) / hours : 0;
  }

  double good_per_1000_tokens() const {
    return consumed > 0 ? 1000.0 * double(good_committed) / double(consumed)
                        : 0;
  }

  double recall() const {
    return good_seen > 0 ? double(good_committed) / double(good_seen) : 1.0;
  }

  double peek_tokens_per_asin() const {
    return peeked > 0 ? double(peek_tokens) / double(peeked) : 0;
  }

  double utilisation() const {
    return generated > 0 ? double(consumed) / double(generated) : 0;
  }
};

/// Runs every plan and strategy (`opts.jobs` at a time), each with
/// keepa-pipeline's settings from `cfg` changed by the strategy; rows by
/// plan, then in strategy order.
caf::expected<std::vector<bench_row>> run_bench(const bench_options& opts,
                                                const pipeline_config& cfg);

// -- report (report.cpp) ------------------------------------------------------

/// The table, one block per plan.
std::string render_table(const bench_options& opts,
                         const std::vector<bench_row>& rows);

/// One line per run (header first).
std::string render_csv(const std::vector<bench_row>& rows);

/// Writes `<prefix>-R<rate>.dat` (balance per strategy over time) and
/// `<prefix>-R<rate>.gp` per plan and runs gnuplot on each script, which
/// draws `<prefix>-R<rate>.png`. Returns what it wrote and any problem, one
/// line each (a missing gnuplot is said, the data is written anyway).
std::string plot(const std::string& prefix, const std::vector<bench_row>& rows);

} // namespace keepa
