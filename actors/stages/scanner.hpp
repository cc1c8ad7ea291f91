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

#pragma once

#include <string>

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include "actors/stages/feed_cursor.hpp"
#include "actors/stages/stage.hpp"
#include "actors/stages/stop.hpp"
#include "config/defaults.hpp"

namespace keepa {

struct scanner_config {
  /// The selection JSON (config/deal_query.json).
  std::string selection;
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
};

/// Reads keepa.scan.* (query-file, interval, max-backlog); loads the query.
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
  scan_phase phase = scan_phase::starting;
  /// The peek-filter's queue as it answered the last offer or backlog
  /// request (0 once it reported `drained`).
  uint64_t backlog = 0;
  /// Failed attempts at the page the pass asks for next.
  int32_t page_failures = 0;
  scanner_counters n;

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
