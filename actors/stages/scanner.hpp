// The SCANNER: pages /deal (sortType 1, newest first) down to what it has
// already seen, sorts every page by lastUpdate itself (the seeds found
// pages out of order), drops duplicates, rejects for free what the feed
// data already proves worthless or what storage remembers as rejected at
// no lower price, tracks the rest with storage and hands it to the
// peek-filter oldest first. At start it hands on again what the previous
// run tracked but did not finish (storage keeps those positions durably).
// A failed page is asked for again after a growing backoff, through TOKEN
// like any request; the pass keeps the pages it read, so a fault costs one
// page, not the pass.
//
// A pass reads every slice of the query (feed_slices: disjoint price bands,
// each under /deal's 10 000-deal cap; a slice that overflows is split, up to
// a number the plan's refill rate sets). Keepa keeps a result set for 120 s,
// so a pass starts no sooner than that after the previous one began; it
// starts then if the peek-filter holds less than the plan peeks in that time
// (tokens would otherwise pile up), when the peek-filter runs dry, and every
// `interval`; but a pass that would read mostly deals already seen waits
// while the plan spends its tokens elsewhere (thin_wait). While the
// peek-filter is dry and the scanner waits for the feed, the status says
// `feed="feed-limited"` (and counts the time in `dry-ms`); otherwise
// `feed="plan-limited"`.
//
// `source` says where candidates come from: the deal feed (above), Product
// Finder (/query, finder_cursor: the products updated since the last pass,
// ASINs only), or both, the passes alternating. A finder pass's candidates
// take the same path as the feed's (storage's memory, tracking, peek);
// having no price, they skip the feed's price checks, which the finder
// query makes on Keepa's side (current_USED_gte/lte from keepa.filter.*),
// and a stored ASIN is not bought again (the updater keeps it fresh).

#pragma once

#include <string>
#include <utility>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/fwd.hpp>
#include <caf/optional.hpp>
#include <caf/timespan.hpp>

#include "actors/stages/feed_cursor.hpp"
#include "actors/stages/feed_slices.hpp"
#include "actors/stages/finder_cursor.hpp"
#include "actors/stages/stage.hpp"
#include "actors/stages/stop.hpp"
#include "config/defaults.hpp"

namespace keepa {

/// Where the SCANNER discovers candidates (keepa.scan.source).
enum class scan_source : uint8_t { deals, finder, both };

/// @relates scan_source
const char* to_string(scan_source x);

struct scanner_config {
  /// The selection JSON (config/deal_query.json).
  std::string selection;
  scan_source source = scan_source::deals;
  /// The Product Finder query JSON (config/finder_query.json).
  std::string finder_query;
  /// Its perPage (50..10 000; default 500).
  int32_t finder_per_page = 500;
  /// The locale of both queries (the deal selection's domainId).
  int32_t domain = 1;
  /// Scan again after this long even if downstream is busy.
  caf::timespan interval = defaults::scan::interval;
  /// Do not scan while the peek-filter holds more than this many.
  uint64_t max_backlog = defaults::scan::max_backlog;
  /// Attempts per /deal page before the pass ends incomplete.
  int32_t page_attempts = defaults::scan::page_attempts;
  /// The wait before a failed page is asked for again, doubling per
  /// failure of the same page up to `page_backoff_max`.
  caf::timespan page_backoff = defaults::scan::page_backoff;
  caf::timespan page_backoff_max = defaults::scan::page_backoff_max;
  /// The slices the query starts with (keepa.scan.price-bands).
  feed_slices slices;
  /// Most slices; 0 = by the refill rate (keepa.scan.max-slices).
  size_t max_slices = defaults::scan::max_slices;
  /// How long Keepa keeps a result set.
  caf::timespan deal_cache = defaults::scan::deal_cache;
};

/// Reads keepa.scan.* (query-file, interval, max-backlog, price-bands,
/// max-slices, source, finder-query-file); loads the queries.
caf::expected<scanner_config> scanner_config_from(const caf::settings& opts);

/// What the SCANNER did since start (status keys of the same names).
struct scanner_counters {
  uint64_t passes = 0;
  uint64_t pages = 0;
  uint64_t seen = 0;
  uint64_t duplicates = 0;
  uint64_t candidates = 0;
  uint64_t pre_rejected = 0;
  uint64_t remembered = 0;
  uint64_t already_stored = 0;
  /// Stored deals seen again at a price that cannot change the decision:
  /// refreshed from the feed's fields, not bought again.
  uint64_t refreshed = 0;
  uint64_t resumed = 0;
  /// Deals skipped for an ASIN storage would refuse.
  uint64_t invalid = 0;
  uint64_t errors = 0;
  /// Failed pages asked for again.
  uint64_t page_retries = 0;
  /// Slices that listed 10 000 deals without reaching the floor.
  uint64_t overflows = 0;
  /// Slices split after an overflow.
  uint64_t splits = 0;
  /// Deals a pass found above its horizon, left to the next pass.
  uint64_t held_back = 0;
  /// Passes that ended before their floor: what they had found, with the
  /// peek-filter's backlog worth a token, was what the plan peeks before
  /// the next pass can start (the older pages were not worth their tokens).
  uint64_t cut_short = 0;
  /// Times the peek-filter ran dry while no pass could start.
  uint64_t dry_waits = 0;
  /// Passes put off because they would have read mostly deals already
  /// seen while the plan had other uses for the tokens (thin_wait).
  uint64_t thin_waits = 0;
  /// Milliseconds the peek-filter was dry before a pass handed on more.
  uint64_t dry_ms = 0;
  /// Product Finder: passes, pages, ASINs listed, and passes that matched
  /// more than a query lists.
  uint64_t finder_passes = 0;
  uint64_t finder_pages = 0;
  uint64_t finder_listed = 0;
  uint64_t finder_overflows = 0;
};

/// What the SCANNER is doing. A pass is `acquiring` and `fetching` in
/// turn, one page at a time, until finish_pass.
enum class scan_phase : uint8_t {
  /// Reading the durable watermark and the pending positions.
  starting,
  /// Between passes.
  idle,
  /// Asking the PEEK-FILTER for its backlog before a pass.
  asking_backlog,
  /// Asking TOKEN for the balance before a thin pass (thin_wait).
  asking_balance,
  /// In a pass: waiting for the tokens of the next page.
  acquiring,
  /// In a pass: a page request in flight.
  fetching,
  /// In a pass: the page failed; asked for again after a backoff (the
  /// pages read so far stay in the pass).
  backing_off,
  /// The pass is complete: asking STORAGE what it knows of the deals and
  /// tracking them; they go on once tracked.
  handing_on,
};

/// @relates scan_phase
const char* to_string(scan_phase x);

struct scanner_state {
  static constexpr const char* name = "scanner";

  stage_context ctx;
  scanner_config cfg;
  peek_filter_actor peek;
  token_gate gate;
  stop_protocol stop;
  feed_cursor cursor{limits::max_deal_pages};
  finder_cursor finder;
  /// The pass under way (or the last one) reads Product Finder.
  bool finder_pass = false;
  /// The query JSON of the finder pass under way.
  std::string finder_selection;
  scan_phase phase = scan_phase::starting;
  /// The peek-filter's queue worth a token as it answered the last offer
  /// or backlog request (0 once it reported `drained`).
  uint64_t backlog = 0;
  /// The share of the candidates handed on that the peek-filter counts as
  /// worth a token, learned from its answers to the offers (1: all).
  double worth_share = 1;
  /// Failed attempts at the page the pass asks for next.
  int32_t page_failures = 0;
  scanner_counters n;
  /// The slices of the query (cfg.slices, split as they overflow).
  feed_slices slices;
  /// The prices the current slice listed, and the minutes of its newest and
  /// oldest deals.
  std::vector<int64_t> slice_prices;
  int32_t slice_newest = 0;
  int32_t slice_oldest = 0;
  /// A slice of this pass that overflowed: split once the pass ends.
  struct overflow {
    size_t slice;
    std::vector<int64_t> prices;
    /// Into how many slices.
    size_t parts;
  };
  std::vector<overflow> overflowed;
  /// The net refill rate the newest /deal answer named (refillRate less
  /// tokenFlowReduction; 0 = unknown).
  int64_t refill_rate = 0;
  /// The balance the newest /deal answer left (tokensLeft; may be
  /// negative).
  int64_t tokens_left = 0;
  /// When the last pass began (its result sets expire deal_cache later).
  caf::actor_clock::time_point pass_began;
  bool has_pass = false;
  /// When the pass before it began (none before the second pass).
  caf::optional<caf::actor_clock::time_point> previous_pass_began;
  /// The pass under way read every slice down to its floor so far (no
  /// overflow, not cut short): what it finds counts toward the feed rate.
  bool pass_whole = false;
  /// The feed's arrival rate: new deals found by whole passes, and the
  /// minutes they covered (each since the pass before), both halved at
  /// every new pass so that the rate follows the feed.
  double arrived = 0;
  double arrival_minutes = 0;
  /// A wake-up for the next pass is scheduled.
  bool wake_scheduled = false;
  /// Since when the peek-filter is dry with no pass under way (if it is).
  caf::optional<caf::actor_clock::time_point> dry_since;

  /// The most slices the query may be split into.
  size_t max_slices() const;

  /// A pass starts at its earliest chance while the peek-filter holds at
  /// most this many: what the plan peeks before the next one can start,
  /// its refill until then and the balance the newest page left (a full
  /// bucket peeks far more than a cache period's refill; counting only the
  /// refill cut passes short while tokens went to the cap), at most
  /// cfg.max_backlog.
  uint64_t low_water() const;

  /// New deals per minute on the whole query, as whole passes found them
  /// (negative: not known yet).
  double feed_rate() const;

  /// How long the next pass should wait to be worth its first page: a
  /// pass reads at least a page per slice for 5 tokens each, and one that
  /// starts before the feed rate puts half a page of new deals per slice
  /// on it reads mostly deals it has seen. It waits at most until its
  /// pages cost a tenth of what the plan refilled since the last pass
  /// began, and never more than defaults::scan::thin_wait_max. 0 = it may
  /// start now (the rate is not known, or the half page is there). The
  /// wait is taken only while the plan has other uses for the tokens
  /// (start_pass asks TOKEN: the balance would not reach the cap over the
  /// wait), and only by deal-feed passes.
  caf::timespan thin_wait(caf::actor_clock::time_point now) const;

  /// The pass under way has read enough: a scan page costs tokens, and
  /// when the peek-filter's backlog worth a token plus what the pass found
  /// (at `worth_share`) already make up what the plan peeks before the next
  /// pass can start (low_water), the older pages would only find more than
  /// the plan can use; the pass ends there, on its last slice, and the
  /// deals below its last page are skipped. Never while every candidate is
  /// worth a token (then the plan, not the value, is the limit).
  bool read_enough() const;

  /// Learns `worth_share` from the peek-filter's answer `now` (its backlog
  /// worth a token) to an offer of `offered` candidates.
  void offered(size_t offered, uint64_t now);

  /// A pass is under way.
  bool scanning() const {
    return phase == scan_phase::acquiring || phase == scan_phase::fetching
      || phase == scan_phase::backing_off;
  }

  /// No page request in flight, no pass being handed on and no answer
  /// from TOKEN outstanding.
  bool stoppable() const {
    return phase != scan_phase::fetching && phase != scan_phase::handing_on
      && gate.settled();
  }

  /// TOKEN refused the page: the pass ends incomplete.
  void on_token_error(const caf::error&);
};

using scanner_pointer = scanner_actor::stateful_pointer<scanner_state>;

/// The behavior of the SCANNER: reads the watermark and the pending
/// positions from STORAGE, hands the pending ones on again, then scans.
scanner_actor::behavior_type scanner(scanner_pointer self, stage_context ctx,
                                     scanner_config cfg,
                                     peek_filter_actor peek);

scanner_actor spawn_scanner(caf::actor_system& sys, stage_context ctx,
                            scanner_config cfg, peek_filter_actor peek);

} // namespace keepa
