// Which candidates are worth a token now: the PEEK-FILTER's value gate as a
// plain class, no actors, time always an argument.
//
// It learns from the peek's own outcomes how well the feed-side profit
// estimate predicts a pass, per bin (a bin's pass rate starts at the overall
// one and moves to its own as peeks come back), and keeps the recent mix of
// arriving candidates by bin. A bin is a band of the estimate, split by
// whether the deal's sales rank is below its 90-day average (the book sold
// lately): a book whose rank only rose has no rank drops, which the peek
// rejects, and the feed shows it (issue 18: 933 of 978 failed peeks at
// R = 5, feed pressure 10). A token's price follows the bucket: at a
// balance of 0 or less only the best share of what arrives is worth a peek
// (the bins of highest learned value that together make up that share); as
// the balance grows towards `horizon` minutes of refill, the share grows to
// everything. The balance is the feedback: when the best candidates cannot
// use the plan, it rises and the bar falls, so tokens never drift to the cap
// while candidates wait; when candidates outrun the plan, it stays low and
// only the likeliest are peeked, as a scarce token should be spent.
//
// The balance alone does not see what the other stages spend: the scanner
// and the committer spend whenever the floor rule lets them, which keeps
// the balance near 0 however little of the plan is left for peeks. So the
// gate also keeps the recent refill income and what the other stages
// consumed of it (decayed like the arrival mix): the income they leave,
// in peeks at the peek's own cost per ASIN, is a share of the arrivals the
// plan can peek in any case; the best bins making up that share are worth
// a token even at a balance of 0.
//
// The peeks may show a bin hopeless: at least `hopeless_after` peeked, and
// its pass rate, with 95 % confidence, below `hopeless_share` of the
// overall one (issue 18: at R = 60, feed pressure 1, 16 127 of 27 723
// peeks went to the "below-0" bins, and none passed). With `skip_hopeless`
// (off by default) such a bin is worth no token at any balance: its
// arrivals leave the mix, and its candidates are let go as they arrive,
// but for one in `explore_every`, peeked so the gate sees if the bin
// changes. Off, a token the bucket would lose at its cap still buys a long
// shot, as the plan's own rule wants; on, the tokens are left to expire or
// to the other pipelines sharing the key.

#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include <caf/actor_clock.hpp>
#include <caf/timespan.hpp>

#include "config/defaults.hpp"

namespace keepa {

struct value_gate_config {
  /// Off: every candidate is worth a token (the bar is always 0).
  bool enabled = defaults::value_gate::enabled;
  /// The balance, in minutes of refill, from which every candidate is worth
  /// a token.
  caf::timespan horizon = defaults::value_gate::horizon;
  /// ... or from this many tokens, whichever is less.
  int64_t horizon_tokens = defaults::value_gate::horizon_tokens;
  /// Weight of the overall pass rate in a bin's estimate, in peeks.
  double prior_weight = defaults::value_gate::prior_weight;
  /// Half-life of the arrival mix.
  caf::timespan half_life = defaults::value_gate::half_life;
  /// A candidate below the bar whose deal is older than this (counted from
  /// the start for a deal listed before) is let go.
  caf::timespan max_wait = defaults::value_gate::max_wait;
  /// Candidates below the bar beyond this many queued are let go.
  size_t max_queue = defaults::value_gate::max_queue;
  /// Let go of the candidates of hopeless bins (keepa.peek.skip-hopeless).
  bool skip_hopeless = defaults::value_gate::skip_hopeless;
  /// Peeks of a bin before it may be found hopeless, and the share of the
  /// overall pass rate its pass rate must be below (95 % confidence).
  uint64_t hopeless_after = defaults::value_gate::hopeless_after;
  double hopeless_share = defaults::value_gate::hopeless_share;
  /// One in this many candidates of a hopeless bin is admitted anyway.
  uint64_t explore_every = defaults::value_gate::explore_every;
};

class value_gate {
public:
  using time_point = caf::actor_clock::time_point;

  /// The estimate of a deal the feed gives no profit estimate for.
  static constexpr int64_t unknown = std::numeric_limits<int64_t>::min();

  /// Estimate bands: unknown, < 0, then from 0 cents at these upper edges.
  static constexpr std::array<int64_t, 11> edges{
    {200, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 6000,
     std::numeric_limits<int64_t>::max()}};
  static constexpr size_t num_bands = 2 + edges.size();
  /// The bands of candidates whose rank did not fall (or is unknown), then
  /// the same bands of those whose rank fell.
  static constexpr size_t num_bins = 2 * num_bands;

  /// A candidate's bin (`index` < num_bins).
  struct bin_id {
    size_t index;

    friend bool operator==(bin_id x, bin_id y) {
      return x.index == y.index;
    }
  };

  struct bin {
    /// Candidates peeked and passed, in this bin.
    uint64_t peeked = 0;
    uint64_t passed = 0;
    /// Arrivals, decayed by `half_life`.
    double arrivals = 0;
    /// Candidates that arrived while the bin was skipped: every
    /// `explore_every`-th was admitted, the others let go.
    uint64_t hopeless_arrivals = 0;
  };

  explicit value_gate(value_gate_config cfg = {});

  /// The bin of a candidate with `estimate` whose sales rank fell or not.
  static bin_id bin_of(int64_t estimate, bool rank_fell = false);

  /// The name of bin `i` in the status: its band ("unknown", "below-0",
  /// "0-200", ..., "6000-up"), after "rank-fell/" for the rank's fall.
  static std::string bin_name(size_t i);

  /// A candidate of bin `b` arrived.
  void arrived(bin_id b, time_point now);

  /// Whether a candidate of bin `b` that arrives now is to be queued: all
  /// but those of a skipped bin, of which one in `explore_every` (the
  /// others count as let go).
  bool admit(bin_id b);

  /// Whether the peeks have shown bin `i` hopeless (never with the gate
  /// off).
  bool hopeless(size_t i) const;

  /// Whether the candidates of bin `i` are let go: it is hopeless and
  /// `skip_hopeless` is on.
  bool skips(size_t i) const {
    return cfg_.skip_hopeless && hopeless(i);
  }

  /// How many bins are skipped now.
  size_t skipped_bins() const;

  /// A peeked candidate of bin `b` passed or not.
  void outcome(bin_id b, bool passed);

  /// TOKEN's totals at `now`: the plan refills `rate` tokens per minute,
  /// the other stages have consumed `others` tokens so far and the peeks
  /// `peek_tokens` for `peeked` ASINs. The first call only sets the start.
  void spent(int64_t rate, int64_t others, int64_t peek_tokens, uint64_t peeked,
             time_point now);

  /// The share of arrivals the income the other stages leave can peek
  /// (0 before two `spent` calls; at most 1).
  double income_share(time_point now) const;

  /// TOKEN's totals of the scanner's and the committer's consumption, and
  /// the survivors the peeks handed the committer so far: what a scan page
  /// and a survivor's commit cost.
  void paid(int64_t scan_tokens, int64_t commit_tokens, uint64_t survived,
            time_point now);

  /// Good survivors per token a peek of bin `i` buys: its pass rate over
  /// the peek and the commit of what passes.
  double bin_yield(size_t i) const;

  /// Survivors per token of scanning more: the pages' recent arrivals per
  /// scan token, each peeked if its bin yields more per token than the
  /// page as a whole, the best bins first (0 while nothing was scanned).
  /// A candidate of a bin yielding less is not worth the income the other
  /// stages leave: that income scans better ones.
  double scan_yield(time_point now) const;

  /// The learned probability that a candidate of bin `b` passes.
  double value(bin_id b) const {
    return bin_value(b.index);
  }

  /// The lowest value worth a token at projected `balance` with `rate`
  /// tokens per minute; 0 = everything (from min(`horizon` of refill,
  /// `horizon_tokens`)).
  double bar(int64_t balance, int64_t rate, time_point now) const;

  /// Whether a candidate of bin `b` is worth a token at `bar`.
  bool worth(bin_id b, double bar) const {
    return bar <= 0 || value(b) >= bar;
  }

  const value_gate_config& config() const {
    return cfg_;
  }

  const std::array<bin, num_bins>& bins() const {
    return bins_;
  }

  /// Overall pass rate so far (with one pass in two peeks as the prior).
  double pass_rate() const;

  /// The learned pass rate of bin `i`.
  double bin_value(size_t i) const;

private:
  /// Arrivals of bin `i` decayed to `now` (0 while it is skipped).
  double arrivals(size_t i, time_point now) const;

  /// The decay factor from `decayed_at_` to `now`.
  double decay(time_point now) const;

  /// Decays the arrivals, income and spend to `now`.
  void decay_to(time_point now);

  value_gate_config cfg_;
  std::array<bin, num_bins> bins_;
  /// When the arrivals were last decayed.
  time_point decayed_at_;
  uint64_t peeked_ = 0;
  uint64_t passed_ = 0;
  /// Refill income and the other stages' spend since the first `spent`,
  /// decayed like the arrivals; their totals and the time at the last one.
  double income_ = 0;
  double others_ = 0;
  int64_t others_total_ = 0;
  std::optional<time_point> spent_at_;
  /// Tokens per peeked ASIN (1 until peeks were paid for).
  double peek_cost_ = 1;
  /// Scan tokens, decayed like the arrivals, and the total at the last
  /// `paid`; tokens per survivor committed (0 until known).
  double scan_ = 0;
  std::optional<int64_t> scan_total_;
  double commit_cost_ = 0;
};

} // namespace keepa
