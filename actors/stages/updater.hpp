// The UPDATER: refreshes stored deals not seen for `refresh-after`, oldest
// first, with light product requests (its share of the budget is TOKEN's
// business), then deletes deals unseen beyond the grace period.

#pragma once

#include "actors/stages/stage.hpp"
#include "actors/stages/stop.hpp"
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

/// What the UPDATER is doing. A round lists, acquires, refreshes and
/// stores until nothing is stale, then expires.
enum class update_phase : uint8_t {
  /// Between rounds.
  idle,
  /// Asking STORAGE for the stalest deals.
  listing,
  /// Waiting for the tokens of a refresh.
  acquiring,
  /// A light product request in flight.
  refreshing,
  /// Storing the refreshed deals.
  storing,
  /// Deleting the deals unseen beyond the grace period.
  expiring,
};

/// @relates update_phase
const char* to_string(update_phase x);

struct updater_state {
  static constexpr const char* name = "updater";

  stage_context ctx;
  updater_config cfg;
  token_gate gate;
  stop_protocol stop;
  update_phase phase = update_phase::idle;
  uint64_t rounds = 0;
  uint64_t refreshed = 0;
  uint64_t expired = 0;
  /// Refreshed deals whose profit at the new price fell below the minimum.
  uint64_t retired = 0;
  uint64_t errors = 0;

  /// A round is under way.
  bool busy() const {
    return phase != update_phase::idle;
  }

  /// No round under way and no answer from TOKEN outstanding.
  bool stoppable() const {
    return phase == update_phase::idle && gate.settled();
  }

  /// TOKEN refused: the round ends.
  void on_token_error(const caf::error&) {
    phase = update_phase::idle;
  }
};

using updater_pointer = updater_actor::stateful_pointer<updater_state>;

/// The behavior of the UPDATER: a round every `interval`.
updater_actor::behavior_type updater(updater_pointer self, stage_context ctx,
                                     updater_config cfg);

updater_actor spawn_updater(caf::actor_system& sys, stage_context ctx,
                            updater_config cfg);

} // namespace keepa
