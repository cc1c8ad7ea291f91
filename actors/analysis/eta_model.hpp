// How long until N more deals are stored, from what a run observed: the one
// ETA model behind keepa-eta --eta.from (fitted from a database that
// keepa-pipeline filled) and keepa-pipeline's ETA for --keepa.max-deals
// (fitted from its own database's counters, this run included).
//
// A run's counters (`run_sample`) are kept by STORAGE in the system_state
// table (keys `run.*`, cumulative across restarts, written with the
// watermark and at every flush). `fit` turns them into rates
// (`eta_mixture`) and refuses a sample too small to say anything;
// `estimate` integrates the deal rate from the current stock to the target:
// the lesser of what the feed brings (new feed items per hour times the
// deals per feed item) and what the plan pays for (tokens per minute, less
// the refreshes of the deals already stored, over the tokens a new deal
// costs). Refreshes grow with the stock, so a plan keeps at most
// refill / (refresh tokens per deal) deals.

#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>
#include <caf/timespan.hpp>

#include "actors/analysis/human_duration.hpp"
#include "messages/token.hpp"

namespace keepa {

/// What a run observed; cumulative over all runs on one database.
struct run_sample {
  /// The running time the counters cover.
  caf::timespan run_time{0};
  /// New feed positions the scanner handed on (tracked with STORAGE).
  uint64_t feed_items = 0;
  /// The oldest and newest lastUpdate (Keepa minutes) among them (0 =
  /// none): the feed's own time, so a first pass that reads an hour of
  /// backlog in a second counts as an hour of feed.
  int32_t feed_first = 0;
  int32_t feed_last = 0;
  /// Products peeked whose viability rules were applied (value-bar
  /// lets-go and failed requests are no peeks).
  uint64_t peeks = 0;
  /// Peeks that passed the viability rules (committed or rejected at
  /// commit, failed requests left out).
  uint64_t passes = 0;
  /// Deals committed (good).
  uint64_t commits = 0;
  /// Tokens consumed, by stage (indexed by keepa::stage).
  std::array<int64_t, num_stages> tokens{};
  /// The plan's refill rate last seen (tokens per minute; 0 = unknown).
  int64_t refill_rate = 0;
  /// Deals stored when the sample was taken (not persisted: counted).
  uint64_t stored = 0;

  /// The lastUpdate span of the feed items (0 when unknown).
  caf::timespan feed_span() const;

  int64_t tokens_of(stage x) const {
    return tokens[static_cast<size_t>(x)];
  }

  /// Adds the counters of `x` (run time, items, tokens), widens the feed
  /// span by its own; takes its refill rate if known and its stored deals.
  run_sample& operator+=(const run_sample& x);
};

/// The system_state rows of a sample (keys `run.*`; values decimal).
using state_values = std::vector<std::pair<std::string, std::string>>;

/// The prefix of every key `to_state` writes.
constexpr const char* run_state_prefix = "run.";

state_values to_state(const run_sample& x);

/// Reads the keys `to_state` writes; missing keys are 0, others ignored.
/// A value that is not a decimal number is an ec::invalid_config error.
caf::expected<run_sample> sample_from_state(const state_values& xs);

/// What a sample must hold before `fit` answers.
struct fit_minimums {
  caf::timespan run_time = std::chrono::seconds{30};
  uint64_t peeks = 30;
  uint64_t commits = 3;
};

/// The rates of a run.
struct eta_mixture {
  /// New feed items per hour of the feed's own time (their lastUpdate
  /// span, at least a minute; the running time when no span is known).
  double feed_per_hour = 0;
  /// Share of peeks that pass the viability rules.
  double pass_rate = 0;
  /// Share of peeks that end in a committed deal.
  double good_rate = 0;
  /// Committed deals per new feed item.
  double good_per_feed = 0;
  /// Scan, peek and commit tokens per committed deal.
  double tokens_per_deal = 0;
  /// Update (refresh) tokens per stored deal per hour.
  double refresh_per_deal_hour = 0;
  /// What it was fitted from.
  run_sample from;
};

/// The rates of `x`; ec::invalid_config naming what is missing when `x`
/// holds less than `min`.
caf::expected<eta_mixture> fit(const run_sample& x,
                               const fit_minimums& min = {});

/// The plan an estimate assumes.
struct eta_plan {
  /// Tokens per minute.
  int64_t refill_rate = 0;
  /// The balance now (tokens; below 0 a debt).
  int64_t balance = 0;
};

struct eta_answer {
  /// False when the plan cannot keep `stored + more` deals (see `ceiling`).
  bool reachable = false;
  /// The time until `more` more deals are stored (when reachable).
  caf::timespan time{0};
  /// Deals per hour at the current stock.
  double deals_per_hour = 0;
  /// Whether the plan (not the feed) limits the rate at the current stock.
  bool plan_limited = false;
  /// The most deals the plan can keep refreshed (0 = no refresh cost seen,
  /// no limit).
  uint64_t ceiling = 0;
};

/// How long `more` more deals take from a stock of `stored`, on `plan`.
eta_answer estimate(const eta_mixture& m, const eta_plan& plan, uint64_t stored,
                    uint64_t more);

/// One line: the rates of `m` and what they come from, e.g. "fitted from
/// 1234 peeks, 45 deals over 5 h 12 min: 2 % pass a peek, ...".
std::string describe(const eta_mixture& m);

} // namespace keepa
