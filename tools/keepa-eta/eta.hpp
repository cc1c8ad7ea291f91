// keepa-eta's core: runs the real pipeline actors in virtual time against
// the in-process simulator until a number of deals is stored, and reports
// how long that took and where the tokens went.

#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include "actors/analysis/eta_model.hpp"
#include "messages/token.hpp"
#include "tools/keepa-sim/model.hpp"

namespace keepa {

class pipeline_config;

struct eta_options {
  /// The plan and the catalogue (refill_rate, initial_tokens, products,
  /// update_rate, good_fraction, peek_pass_fraction, seed).
  sim::options sim;
  /// Stored deals to reach.
  uint64_t target = 10000;
  /// Give up after this much virtual time.
  caf::timespan limit = std::chrono::hours{24 * 365};
  /// Also give up early once the growth over this last stretch, carried on
  /// at the same rate, would not reach the target within the limit (stored
  /// deals grow ever slower as their refreshes take more of the plan, so
  /// the straight line is the optimistic reading). 0 = only the limit.
  caf::timespan window = std::chrono::hours{24 * 7};
  /// How often the run checks its progress (virtual time); closer to the
  /// target down to once a minute.
  caf::timespan step = std::chrono::minutes{30};
  /// eta.scan-interval; when not given, keepa.scan.interval (5 min by
  /// default), as the other keepa.scan.* options act.
  caf::timespan scan_interval = std::chrono::minutes{5};
  bool scan_interval_given = false;
  /// eta.from: the storage URL of a database keepa-pipeline filled; the
  /// mixture is fitted from its run counters instead of simulated (empty =
  /// the simulator).
  std::string from;
  /// Whether eta.refill-rate was given (with `from`, else the database's
  /// last seen plan).
  bool refill_given = false;
};

struct eta_result {
  bool reached = false;
  /// Stopped before the limit: the last `window`'s growth, carried on,
  /// would not reach the target within it.
  bool out_of_reach = false;
  /// Deals per day over the last window when stopping early.
  double recent_per_day = 0;
  /// Virtual time from the start until `target` deals were stored (or the
  /// limit).
  caf::timespan elapsed{0};
  uint64_t deals = 0;
  /// Tokens consumed per stage (indexed by `stage`), and in total.
  std::array<int64_t, num_stages> by_stage{};
  int64_t consumed = 0;
  /// Stored deals removed because they were no longer deals at a new
  /// price (storage's `retired`).
  uint64_t retired = 0;
  /// Refill tokens lost because the bucket was full.
  int64_t lost_at_cap = 0;
  /// Tokens the plan made available: starting balance plus refills.
  int64_t generated = 0;
  int64_t min_balance = 0;
  /// Good deals in the simulator's catalogue at the start, by its own rules
  /// (a ceiling for the default analysis settings).
  uint64_t catalogue_good = 0;
  /// The updater's refresh interval (each stored deal costs a refresh).
  caf::timespan refresh_after{0};
  /// Wall-clock time of the run.
  std::chrono::milliseconds wall{0};

  double hours() const {
    return std::chrono::duration<double, std::ratio<3600>>(elapsed).count();
  }

  double deals_per_hour() const {
    return hours() > 0 ? double(deals) / hours() : 0.0;
  }
};

/// Reads the `eta.*` options (see keepa-eta --help) and checks them.
caf::expected<eta_options> eta_options_from(const caf::settings& xs);

/// Runs the pipeline with the settings of `cfg` (profiles, filters, business
/// figures, token options) on the simulator of `opts`.
caf::expected<eta_result> run_eta(const eta_options& opts,
                                  const pipeline_config& cfg);

/// A readable multi-line report.
std::string render(const eta_options& opts, const eta_result& r);

namespace db {
class backend;
} // namespace db

/// keepa-eta --eta.from: the ETA model (eta_model.hpp, the same keepa-pipeline
/// shows for --keepa.max-deals) fitted from a database's run counters.
struct fitted_eta {
  eta_mixture mixture;
  eta_plan plan;
  /// Deals stored now.
  uint64_t stored = 0;
  eta_answer answer;
};

/// Fits the mixture from `db` (run counters and stored deals) and estimates
/// the time to `opts.target` stored deals on the plan of `opts` (its
/// refill rate if given, else the one the database last saw; the balance
/// if given, else 0). Too little data is ec::invalid_config saying what is
/// missing.
caf::expected<fitted_eta> fit_eta(const eta_options& opts, db::backend& db);

/// Opens `opts.from` (refusing a SQLite file that does not exist) and calls
/// fit_eta.
caf::expected<fitted_eta> fit_eta(const eta_options& opts);

/// A readable multi-line report of a fitted ETA.
std::string render(const eta_options& opts, const fitted_eta& r);

} // namespace keepa
