// The SCANNER: pages /deal (sortType 1, newest first) down to what it has
// already seen, sorts every page by lastUpdate itself (the seeds found
// pages out of order), drops duplicates, rejects for free what the feed
// data already proves worthless or what storage remembers as rejected at
// no lower price, tracks the rest with storage and hands it to the
// peek-filter oldest first. At start it hands on again what the previous
// run tracked but did not finish (storage keeps those positions durably).

#pragma once

#include <string>

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include "actors/stages/stage.hpp"
#include "config/defaults.hpp"

namespace keepa {

struct scanner_config {
  /// The selection JSON (config/deal_query.json).
  std::string selection;
  /// Scan again after this long even if downstream is busy.
  caf::timespan interval = defaults::scan::interval;
  /// Do not scan while the peek-filter holds more than this many.
  uint64_t max_backlog = defaults::scan::max_backlog;
};

/// Reads keepa.scan.* (query-file, interval, max-backlog); loads the query.
caf::expected<scanner_config> scanner_config_from(const caf::settings& opts);

scanner_actor spawn_scanner(caf::actor_system& sys, stage_context ctx,
                            scanner_config cfg, peek_filter_actor peek);

} // namespace keepa
