// The PEEK-FILTER: batches candidates (profile peek-batch), buys light
// products (stats, no history; offers only when the profile says so),
// applies the viability rules (actors/deal_analysis.hpp), records
// rejections with their reason and offers survivors to the committer.

#pragma once

#include "actors/stages/stage.hpp"
#include "config/defaults.hpp"

namespace keepa {

struct peek_filter_config {
  /// `stats` days for the light product (avg90 and avg365 need 365).
  std::string stats = defaults::peek::stats;
  /// Batches in flight at once.
  int32_t max_in_flight = defaults::peek::max_in_flight;
  /// Attempts per candidate before it is recorded as failed.
  int32_t attempts = defaults::peek::attempts;
};

peek_filter_actor spawn_peek_filter(caf::actor_system& sys, stage_context ctx,
                                    peek_filter_config cfg,
                                    committer_actor committer);

} // namespace keepa
