// The STORAGE actor: owns the database session. It stores deals and
// rejections, keeps the scan watermark (the low watermark over the feed
// positions still in flight, which it records durably so a restart finishes
// them) and answers what the pipeline remembers.
// Every database call blocks, so production spawns it detached.

#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "config/defaults.hpp"
#include "messages/actors.hpp"
#include "storage/backend.hpp"
#include "storage/low_watermark.hpp"

namespace keepa {

/// Settings of the STORAGE actor (defaults: config/defaults.hpp).
struct storage_config {
  std::string url = defaults::storage::url;
  caf::timespan busy_timeout = defaults::storage::busy_timeout;
  int64_t lock_retries = defaults::storage::lock_retries;
};

/// Reads `keepa.storage.*` from `opts`, using the defaults for missing keys.
storage_config storage_config_from(const caf::settings& opts);

/// Checks the URL syntax and the ranges: a busy timeout in (0, 10 min],
/// lock retries in [0, 100].
caf::error validate(const storage_config& cfg);

struct storage_state {
  static constexpr const char* name = "storage";

  storage_config cfg;
  std::shared_ptr<db::backend> db;
  db::low_watermark marks;
  int32_t schema_version = 0;
  uint64_t batches = 0;
  uint64_t deals_written = 0;
  uint64_t rejections_written = 0;
  uint64_t failures = 0;
  std::string last_error;
};

using storage_pointer = storage_actor::stateful_pointer<storage_state>;

/// The behavior of the STORAGE actor. Opens the database of `cfg` unless
/// `db` is already open. A bad config or a database that cannot be opened
/// ends the actor with that error. A failed upsert answers the error and
/// ends the actor too: the pipeline must stop rather than run ahead of what
/// is stored.
storage_actor::behavior_type storage(storage_pointer self, storage_config cfg,
                                     std::shared_ptr<db::backend> db);

/// Validates `cfg`, opens the database (blocking the caller) and spawns the
/// STORAGE actor with it; `detached` gives it a private thread (production),
/// attached runs it on the scheduler (deterministic tests).
caf::expected<storage_actor> spawn_storage(caf::actor_system& sys,
                                           const storage_config& cfg,
                                           bool detached = true);

} // namespace keepa
