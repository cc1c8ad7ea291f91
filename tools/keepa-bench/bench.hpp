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
  /// Knows the simulator's truth (see oracle.hpp): the plan's limit.
  bool oracle = false;
};

/// The seeds' own configuration (seeds 001/002), the row issue 18 measures
/// good deals per token against.
inline constexpr const char* seeds_strategy = "deficit-180";

/// keepa-pipeline as configured, then the seeds' strategies, then the
/// Python client's "wait while the balance is <= 0", then the oracle.
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
  /// bench.scan-interval; when not given, keepa.scan.interval (5 min by
  /// default), as the other keepa.scan.* options act.
  caf::timespan scan_interval = std::chrono::minutes{5};
  bool scan_interval_given = false;
  /// The catalogue (products, good_fraction, peek_pass_fraction, seed);
  /// refill_rate and update_rate are set per plan.
  sim::options sim;
  /// Feed pressures: book updates per minute per token per minute of the
  /// plan (above 1 the feed offers more than the plan can peek); each plan
  /// runs at each.
  std::vector<double> pressures{1.2};
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
  double pressure = 0;
  std::string strategy;
  bool oracle = false;
  double hours = 0;
  /// Commit events of the committer (a book stored again counts again).
  uint64_t committed = 0;
  /// Distinct deals (books) stored, and those the feed showed as a good
  /// deal (simulator truth) at or before the version stored.
  uint64_t stored = 0;
  uint64_t stored_good = 0;
  /// Distinct books that were a good deal in the feed at some time of the
  /// run (every minute's /deal result set for the scanner's query).
  uint64_t good_in_feed = 0;
  /// Good deals (simulator truth) /deal showed the scanner, and how many
  /// are stored.
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
  /// Tokens the scanner, the committer and the updater consumed.
  int64_t scan_tokens = 0;
  int64_t commit_tokens = 0;
  int64_t update_tokens = 0;
  uint64_t peeked = 0;
  /// The peek-filter's value bar at the end, and its learned pass rate per
  /// estimate bin ("bin=rate/peeked ...").
  double value_bar = 0;
  std::string learned;
  std::chrono::milliseconds wall{0};
  std::vector<balance_sample> balance;

  double per_hour(uint64_t n) const {
    return hours > 0 ? double(n) / hours : 0;
  }

  /// Commit events per hour.
  double commits_per_hour() const {
    return per_hour(committed);
  }

  double good_per_hour() const {
    return per_hour(stored_good);
  }

  /// Distinct good deals per 1 000 tokens consumed.
  double good_per_1000_tokens() const {
    return consumed > 0 ? 1000.0 * double(stored_good) / double(consumed) : 0;
  }

  /// Tokens consumed per distinct good deal; 0 without one.
  double tokens_per_good() const {
    return stored_good > 0 ? double(consumed) / double(stored_good) : 0;
  }

  /// Distinct good deals stored of those the feed showed over the run.
  double recall() const {
    return good_in_feed > 0 ? double(stored_good) / double(good_in_feed) : 1.0;
  }

  /// Of the good deals /deal showed the scanner, the share stored.
  double recall_seen() const {
    return good_seen > 0 ? double(good_committed) / double(good_seen) : 1.0;
  }

  double peek_tokens_per_asin() const {
    return peeked > 0 ? double(peek_tokens) / double(peeked) : 0;
  }

  double utilisation() const {
    return generated > 0 ? double(consumed) / double(generated) : 0;
  }
};

/// Runs every pressure, plan and strategy (`opts.jobs` at a time), each
/// with keepa-pipeline's settings from `cfg` changed by the strategy; rows
/// by pressure, then plan, then in strategy order.
caf::expected<std::vector<bench_row>> run_bench(const bench_options& opts,
                                                const pipeline_config& cfg);

// -- report (report.cpp) ------------------------------------------------------

/// The table, one block per pressure and plan; every row's good deals per
/// hour also as a fraction of the oracle's, and its good deals per 1 000
/// tokens as a multiple of the seeds' configuration's (when they ran), with
/// the most good deals per 1 000 tokens a plan spent to 99 % allows.
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
