// The PEEK-FILTER: batches candidates (profile peek-batch), buys light
// products (stats, no history; offers only when the profile says so),
// applies the viability rules (actors/deal_analysis.hpp), records
// rejections with their reason and offers survivors to the committer. It
// tells the SCANNER (its upstream, wired by the pipeline) when its queue
// runs dry.

#pragma once

#include <map>
#include <string>
#include <vector>

#include "actors/stages/batch_stage.hpp"
#include "actors/stages/stage.hpp"
#include "actors/stages/value_gate.hpp"
#include "config/defaults.hpp"

namespace keepa {

struct peek_filter_config {
  /// `stats` days for the light product (avg90 and avg365 need 365).
  std::string stats = defaults::peek::stats;
  /// Batches in flight at once.
  int32_t max_in_flight = defaults::peek::max_in_flight;
  /// Attempts per candidate before it is recorded as failed.
  int32_t attempts = defaults::peek::attempts;
  /// Which candidates are worth a token (keepa.peek.value-gate,
  /// value-horizon, max-wait).
  value_gate_config gate;
};

/// Reads keepa.peek.*.
caf::expected<peek_filter_config>
peek_filter_config_from(const caf::settings& opts);

struct peek_state;

using peek_pointer = peek_filter_actor::stateful_pointer<peek_state>;

/// The PEEK-FILTER's state: the batch stage's queue of candidates, best
/// first by the profit the feed alone promises.
struct peek_state : batch_state_base<deal> {
  static constexpr const char* name = "peek-filter";
  static constexpr stage what = stage::peek;

  peek_filter_config cfg;
  committer_actor committer;
  /// Told `drained` when the queue runs dry (set by the `upstream` wiring).
  scanner_actor upstream;
  uint64_t peeked = 0;
  uint64_t survived = 0;
  uint64_t rejected = 0;
  /// Rejections by reason (status "reasons").
  std::map<rejection_reason, uint64_t> reasons;
  /// What a candidate is worth, learned from the peeks' outcomes.
  value_gate values;
  /// The bar at the last look, and how often nothing was worth a token.
  double bar = 0;
  uint64_t held = 0;
  /// Skipped bins at the last look (more since: their candidates queued or
  /// spare are let go).
  size_t skipped_bins = 0;
  /// When this stage started (Unix ms): a deal listed before waits
  /// `max-wait` from here (the backlog a first pass reads is hours old,
  /// and the bar had no income to go by when it arrived).
  int64_t started_ms = 0;
  /// Candidates let go, at max-wait or at the queue's cap (their rejection
  /// recorded), kept for tokens nothing better wants: when the queue runs
  /// dry at a bar of 0, the likeliest of them are queued again. At most
  /// spare_per_queue times the value gate's max_queue (~0.5 KB a deal),
  /// the oldest deals dropped first.
  ///
  /// Between two trims the pool may hold up to 1 / spare_slack more than
  /// that (see trim_spare); whoever reads it trims it first.
  std::vector<deal> spare;
  /// The first spare_sorted deals of `spare` are newest first, as the last
  /// trim left them (deals let go since are appended after them).
  size_t spare_sorted = 0;
  static constexpr size_t spare_per_queue = 8;
  static constexpr size_t spare_slack = 4;
  /// Spare candidates queued again at a time.
  static constexpr size_t spare_batch = 50;
  /// A look again is scheduled (a `retry` with look_ticket).
  bool look_pending = false;
  /// TOKEN numbers its tickets from 1: 0 never names a recharge-wait.
  static constexpr uint64_t look_ticket = 0;

  /// The most deals the spare pool keeps.
  size_t max_spare() const {
    return spare_per_queue * values.config().max_queue;
  }

  /// Adds `d` to the spare pool, trimming it once it holds 1 / spare_slack
  /// more than max_spare().
  void add_spare(deal d);

  /// Keeps the newest max_spare() deals of the spare pool, newest first,
  /// in the order a stable sort of the whole pool gives; only the deals let
  /// go since the last trim are sorted, then merged in. Trimming later
  /// keeps the same deals in the same order as trimming at every let-go: a
  /// deal one trim drops has max_spare() deals ahead of it, and they stay
  /// ahead of it among all that come later.
  void trim_spare();

  /// The feed-side profit estimate of `d` (value_gate::unknown if none).
  int64_t estimate(const deal& d) const;

  /// The value gate's bin of `d`: its estimate, and whether its sales rank
  /// is below the 90-day average.
  value_gate::bin_id bin(const deal& d) const;

  /// What the queue keeps beside each candidate: its bin's index, computed
  /// once, not at every look at the queue.
  int64_t value(const deal& d) const {
    return static_cast<int64_t>(bin(d).index);
  }

  /// keepa.peek.max-wait in milliseconds.
  int64_t max_wait_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
             values.config().max_wait)
      .count();
  }

  /// Whether `d`, peeked at `now_ms`, waited more than max-wait since its
  /// listing: a peek of it says less of what a fresh one is worth, so it
  /// teaches the gate nothing.
  bool stale_at(const deal& d, int64_t now_ms) const {
    return now_ms - unix_ms_from_keepa_minute(d.last_update) > max_wait_ms();
  }

  /// The bin of a queued candidate of `value`.
  static value_gate::bin_id bin_of_value(int64_t value) {
    return value_gate::bin_id{static_cast<size_t>(value)};
  }

  /// Whether a queued candidate of `value` is worth a token at the bar.
  bool worth(int64_t value) const {
    return values.worth(bin_of_value(value), bar);
  }

  /// The backlog the scanner is told (offer and `backlog` answers): the
  /// queued candidates worth a token at the last bar. Those below it wait
  /// to be let go or for the bar to fall, and more of them is no reason
  /// not to scan; with the gate off, the whole queue.
  uint64_t worth_backlog() const;

  /// Asks TOKEN's balance, then calls `go` with how many of the first
  /// queued candidates are worth a token now; when none is, lets go of
  /// old ones below the bar and looks again at the next refill.
  template<class F>
  static void before_batch(peek_pointer self, F go);

  static int32_t batch_size(const profile& p) {
    return p.peek_batch;
  }

  static const std::string& asin_of(const deal& d) {
    return d.asin;
  }

  /// Peeks cost a token per book, and at a small plan the backlog holds
  /// hours of them: with the value gate, the likeliest to pass (as learned
  /// when queued) go first, and among equals the books the feed alone
  /// promises the most profit on, before they change again (unknown counts
  /// as 0); without it, by that promise alone.
  int64_t priority(const deal& d) const;

  /// Queues the candidates again by what is learned now, when some worth a
  /// token sit behind one that is not (the bins' values moved since they
  /// were queued).
  void rerank();

  /// The light product query of profile `p`, without ASINs.
  product_query query(const profile& p) const;

  static product_query make_query(peek_pointer self, const profile& p,
                                  const std::vector<deal>& xs);

  /// Applies the viability rules; stores rejections, offers survivors.
  static void on_products(peek_pointer self, std::vector<deal> xs,
                          product_page& page);

  /// Records candidates out of attempts as rejections, so the watermark
  /// moves on.
  static void on_failed(peek_pointer self, std::vector<deal> xs,
                        const caf::error& err);

  /// Tells the upstream that the queue ran dry.
  static void on_dry(peek_pointer self);
};

/// The behavior of the PEEK-FILTER.
peek_filter_actor::behavior_type
peek_filter(peek_pointer self, stage_context ctx, peek_filter_config cfg,
            committer_actor committer);

/// Spawns the PEEK-FILTER; the pipeline then wires its upstream with
/// `upstream`.
peek_filter_actor spawn_peek_filter(caf::actor_system& sys, stage_context ctx,
                                    peek_filter_config cfg,
                                    committer_actor committer);

} // namespace keepa
