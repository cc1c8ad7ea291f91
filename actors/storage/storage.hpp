// The STORAGE actor: owns the database session. It stores deals and
// rejections, keeps the scan watermark (the low watermark over the feed
// positions still in flight, which it records durably so a restart finishes
// them) and answers what the pipeline remembers.
// Every database call blocks, so production spawns it detached.

#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <caf/actor_clock.hpp>
#include <caf/fwd.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/storage/run_tally.hpp"
#include "config/defaults.hpp"
#include "config/log_sink.hpp"
#include "messages/actors.hpp"
#include "storage/backend.hpp"
#include "storage/low_watermark.hpp"

namespace keepa {

/// Settings of the STORAGE actor (defaults: config/defaults.hpp).
struct storage_config {
  std::string url = defaults::storage::url;
  caf::timespan busy_timeout = defaults::storage::busy_timeout;
  int64_t lock_retries = defaults::storage::lock_retries;
  /// The first wait after a transient error, doubled per failed try up to
  /// `retry_max`.
  caf::timespan retry_min = defaults::storage::retry_min;
  caf::timespan retry_max = defaults::storage::retry_max;
  /// The pipeline's Amazon locale (Keepa domain id, keepa.locale): the
  /// domain of its rejections, positions, stale and expired deals.
  int32_t domain = 1;
  /// Whose watermark, positions and run counters (keepa.storage.scope;
  /// empty: the locale's code; storage/scope.hpp).
  std::string scope = defaults::storage::scope;
  /// Where outages and their end are reported; may be empty.
  log_sink log;
};

/// Reads `keepa.storage.*` from `opts`, using the defaults for missing keys.
storage_config storage_config_from(const caf::settings& opts);

/// Checks the URL syntax and the ranges: a busy timeout in (0, 10 min],
/// lock retries in [0, 100].
caf::error validate(const storage_config& cfg);

/// A database operation that may have to wait for the database: tried at
/// once, kept and tried again after a transient error.
struct storage_op {
  /// What it does, for errors and status ("upsert", "known", ...).
  std::string what;
  /// Tries once; on success answers the caller and returns none, otherwise
  /// returns the error and answers nothing.
  std::function<caf::error()> attempt;
  /// Answers the caller with a permanent error.
  std::function<void(const caf::error&)> refuse;
};

struct storage_state {
  static constexpr const char* name = "storage";

  storage_config cfg;
  std::shared_ptr<db::backend> db;
  db::low_watermark marks;
  int32_t schema_version = 0;
  uint64_t batches = 0;
  uint64_t deals_written = 0;
  uint64_t rejections_written = 0;
  /// Rows in the database: counted once at start, then kept from what each
  /// commit inserted and each expiry deleted, so counts and status never
  /// walk a table (rows another program adds or deletes meanwhile are not
  /// seen until a restart).
  uint64_t stored_deals = 0;
  uint64_t stored_rejections = 0;
  /// Deal rows removed because a verdict on fresh figures said the book is
  /// no longer a deal (rejection_record::retires).
  uint64_t retired_deals = 0;
  uint64_t failures = 0;
  std::string last_error;
  /// Told `hold` during an outage and `resume` after it (may be null).
  token_actor token;
  /// The operation that failed with a transient error, retried after
  /// `backoff`; while set, every other database request waits (skipped in
  /// the mailbox, answered in order once it succeeded).
  std::optional<storage_op> stalled;
  caf::error stall_error;
  caf::timespan backoff{0};
  caf::actor_clock::time_point stalled_since;
  uint64_t outages = 0;
  uint64_t retries = 0;
  /// TOKEN holds because a statement waits for a lock (no outage yet).
  bool waiting = false;
  uint64_t lock_waits = 0;
  /// The run counters for the ETA (run_tally.hpp); not written when the
  /// database's could not be read (`tally_error`).
  run_tally tally;
  std::string tally_error;
  /// A flush asked TOKEN for its tokens and comes again to write them.
  bool tokens_fresh = false;
};

using storage_pointer = storage_actor::stateful_pointer<storage_state>;

/// The behavior of the STORAGE actor. Opens the database of `cfg` unless
/// `db` is already open. A bad config or a database that cannot be opened
/// ends the actor with that error. A transient error (db::transient: locked,
/// server out of reach) stalls it: TOKEN is told to hold, the operation is
/// retried with backoff (reconnecting after a lost connection) and every
/// other database request is answered late, in order, once it succeeded
/// (counts, watermark, pending and status answer from memory at once). An
/// operation that fails permanently, a write or a read, answers the error,
/// holds TOKEN and ends the actor with it: the pipeline must stop rather
/// than run ahead of what is stored, or on a database that no longer
/// serves it.
storage_actor::behavior_type storage(storage_pointer self, storage_config cfg,
                                     std::shared_ptr<db::backend> db);

/// Validates `cfg`, opens the database (blocking the caller) and spawns the
/// STORAGE actor with it; `detached` gives it a private thread (production),
/// attached runs it on the scheduler (deterministic tests).
caf::expected<storage_actor> spawn_storage(caf::actor_system& sys,
                                           const storage_config& cfg,
                                           bool detached = true);

} // namespace keepa
