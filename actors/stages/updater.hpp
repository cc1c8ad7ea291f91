// The UPDATER: refreshes stored deals not seen for `refresh-after`, oldest
// first, with light product requests (its share of the budget is TOKEN's
// business), then deletes deals unseen beyond the grace period.

#pragma once

#include "actors/stages/stage.hpp"
#include "config/defaults.hpp"

namespace keepa {

struct updater_config {
  /// How often the updater looks for stale deals.
  caf::timespan interval = defaults::update::interval;
  /// A deal not seen for this long is refreshed.
  caf::timespan refresh_after = defaults::update::refresh_after;
  /// A deal not seen for this long is deleted.
  caf::timespan grace = defaults::update::grace;
};

/// Reads keepa.update.* (interval, refresh-after, grace).
caf::expected<updater_config> updater_config_from(const caf::settings& opts);

updater_actor spawn_updater(caf::actor_system& sys, stage_context ctx,
                            updater_config cfg);

} // namespace keepa
