// The storage backend interface: what the STORAGE actor needs from a
// database, with every operation returning a value or a keepa error. The SOCI
// implementation (soci_backend.hpp) serves SQLite and PostgreSQL.

#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "messages/storage.hpp"

namespace keepa::db {

/// The schema version this program writes and understands.
constexpr int32_t current_schema_version = 6;

/// Whether `err` may pass by itself: the database is locked
/// (`ec::storage_busy`) or its server is out of reach for now
/// (`ec::storage_unavailable`). Retrying the same operation later, after
/// `backend::reconnect`, may succeed. Every other error is permanent: the
/// schema, the disk or the data are wrong, and retrying cannot help.
bool transient(const caf::error& err);

/// What a commit added: rows that did not exist before it (an update of an
/// existing row counts nothing), so a caller can keep row counts without
/// asking the database.
struct commit_result {
  uint64_t new_deals = 0;
  uint64_t new_rejections = 0;
  /// Deal rows removed by rejections that retire them.
  uint64_t retired_deals = 0;
};

/// Which stored deals `list_deals` and `count_deals` answer, and in which
/// order. Money in cents, ROI in basis points, times in Unix ms.
struct deal_listing {
  /// Best first: highest ROI, highest profit, best (lowest) sales rank, or
  /// most recently seen (last_seen_ms descending). Ties by domain, ASIN.
  enum class order : uint8_t { roi, profit, rank, newest };
  order by = order::roi;
  /// Only deals with roi_bp >= this.
  std::optional<int64_t> min_roi_bp;
  /// Only deals with profit >= this (cents).
  std::optional<int64_t> min_profit;
  /// Only deals with a known sales rank (> 0) of at most this.
  std::optional<int64_t> max_rank;
  /// Only deals last seen at or after this (Unix ms).
  std::optional<int64_t> seen_since_ms;
  /// Only deals of this Amazon locale (Keepa domain id).
  std::optional<int32_t> domain;
  /// A page: at most `limit` deals after skipping `offset`.
  uint32_t limit = 50;
  uint32_t offset = 0;
};

/// @relates deal_listing
const char* to_string(deal_listing::order x);

/// Parses "roi", "profit", "rank" or "newest".
std::optional<deal_listing::order> parse_order(const std::string& x);

/// An abstract database holding deals, rejections and the scan watermark.
/// Text columns are stored as valid UTF-8: invalid sequences are replaced
/// by U+FFFD and NUL bytes dropped (repair_utf8), so one bad title never
/// fails a batch.
class backend {
public:
  virtual ~backend();

  // -- modifiers --------------------------------------------------------------

  /// Stores `batch.deals` (insert or update by ASIN, keeping first_seen),
  /// records `batch.rejections` (one row per ASIN, the newest wins), forgets
  /// the tracked positions in `batch.done` and, if `watermark` is set,
  /// stores it; all in one durable transaction. Returns how many deal and
  /// rejection rows are new (inserted rather than updated). On error
  /// nothing of the batch is stored.
  virtual caf::expected<commit_result>
  commit(const upsert_batch& batch,
         const std::optional<feed_position>& watermark)
    = 0;

  /// Records feed positions handed on but not done yet, durably. `commit`
  /// removes each position once it is done (and every position at or
  /// below the watermark it stores).
  virtual caf::expected<void> track(const std::vector<feed_position>& xs) = 0;

  /// Deletes deals last seen before `cutoff_ms`; returns how many.
  virtual caf::expected<uint64_t> expire(int64_t cutoff_ms) = 0;

  /// Makes every committed transaction durable (a WAL checkpoint for SQLite).
  virtual caf::expected<void> flush() = 0;

  /// Drops the session and connects again (after a transient error); a
  /// server still out of reach is `ec::storage_unavailable`.
  virtual caf::expected<void> reconnect() = 0;

  /// Keeps key/values for the system_state table, written in the
  /// transaction of the next commit that stores a watermark or by the next
  /// flush, whichever comes first (a later call replaces values not yet
  /// written). STORAGE's run counters (actors/analysis/eta_model.hpp) go
  /// so: durable with the watermark, never a transaction of their own.
  virtual void keep_state(std::vector<std::pair<std::string, std::string>> kvs)
    = 0;

  /// Calls `f` on the calling thread whenever a statement starts waiting
  /// for a lock another connection holds (SQLite; PostgreSQL waits on the
  /// server and tells nothing), before the busy timeout runs out.
  virtual void on_lock_wait(std::function<void()> f) = 0;

  // -- inspectors -------------------------------------------------------------

  /// What the database remembers of `asins`; ASINs it does not know are left
  /// out. One round trip for the whole batch.
  virtual caf::expected<std::vector<asin_memory>>
  known(const std::vector<std::string>& asins) = 0;

  /// Up to `n` deals last seen before `seen_before_ms`, oldest first.
  virtual caf::expected<std::vector<deal_record>>
  stalest(uint32_t n, int64_t seen_before_ms) = 0;

  /// The stored deal of `asin`, if any.
  virtual caf::expected<std::optional<deal_record>>
  find(const std::string& asin) = 0;

  /// The durable scan watermark (default-constructed if none yet).
  virtual caf::expected<feed_position> watermark() = 0;

  /// The positions recorded by `track` and not done yet, oldest first.
  virtual caf::expected<std::vector<feed_position>> pending() = 0;

  /// Row counts, watermark and schema version (pending is left 0). Counting
  /// walks the tables: callers keep counts from `commit` and `expire`.
  virtual caf::expected<storage_counts> counts() = 0;

  /// The number of stored deals alone: cheaper than `counts`, whose
  /// rejection count walks the largest table.
  virtual caf::expected<uint64_t> deal_count() = 0;

  /// One page of stored deals matching `q`, best first (see deal_listing).
  virtual caf::expected<std::vector<deal_record>>
  list_deals(const deal_listing& q) = 0;

  /// How many stored deals match `q`'s filters (its order and page aside).
  virtual caf::expected<uint64_t> count_deals(const deal_listing& q) = 0;
  /// The system_state rows whose key begins with `prefix`, by key.
  virtual caf::expected<std::vector<std::pair<std::string, std::string>>>
  state(const std::string& prefix) = 0;

  /// "sqlite" or "postgresql".
  virtual const char* kind() const noexcept = 0;
};

} // namespace keepa::db
