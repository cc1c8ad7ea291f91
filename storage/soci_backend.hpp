// The SOCI backend: SQLite files (default) and PostgreSQL servers behind one
// implementation. <soci/soci.h> stays inside soci_backend.cpp.

#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/expected.hpp>

#include "storage/backend.hpp"

namespace keepa::db {

/// Which database a storage URL names.
enum class backend_kind : uint8_t {
  sqlite,
  postgresql,
};

/// A parsed storage URL.
struct location {
  backend_kind kind = backend_kind::sqlite;
  /// The SQLite file path or the libpq connection string (URI or keywords).
  std::string target;
};

/// Parses `sqlite:<path>`, `sqlite://<path>`, a plain path,
/// `postgresql://...` / `postgres://...` (a libpq URI) or
/// `postgresql:<libpq keywords>`; anything else is `ec::invalid_config`.
caf::expected<location> parse_location(const std::string& url);

/// `url` with passwords replaced by `***`, for logs and error context.
std::string redact(const std::string& url);

/// How to open a database.
struct open_options {
  std::string url = "sqlite:keepa.db";
  /// How long one statement waits for a lock (SQLite busy timeout,
  /// PostgreSQL lock_timeout).
  std::chrono::milliseconds busy_timeout{5000};
  /// How often a transaction that still found the database locked is tried
  /// again before failing with `ec::storage_busy`.
  uint32_t lock_retries = 3;
  /// Migrate up to this schema version (tests create old databases with it).
  int32_t schema_version = current_schema_version;
  /// Reads only: never creates, migrates or writes (SQLite opens the file
  /// read-only and query_only, so it reads beside a writer in WAL mode;
  /// PostgreSQL runs read-only transactions). The schema must be the
  /// current one. Every modifier fails with `ec::storage_error`.
  bool read_only = false;
  /// The Amazon locale (Keepa domain id) whose rejections, tracked
  /// positions, stale deals, sightings and known() answers this backend
  /// keeps and reads; deals carry their own.
  int32_t domain = 1;
  /// Whose pipeline state this backend keeps and reads: the scan
  /// watermark, the tracked positions and the run counters (system_state
  /// and pending rows of this scope, schema 6 on). Several pipelines store
  /// into one database, each under its own scope. Empty: the locale's code
  /// ("us" for domain 1, which the rows of older schemas migrate to). A
  /// scope is 1 to 64 of a-z, 0-9, '.', '_' and '-'.
  std::string scope;
};

class soci_backend final : public backend {
public:
  // -- constructors, destructors, and assignment operators ------------------

  ~soci_backend() override;

  /// Connects, configures the session and migrates the schema. Errors:
  /// `invalid_config` (malformed URL), `storage_error` (cannot connect, open
  /// or write), `schema_too_new`, `storage_busy`. Operations afterwards
  /// fail with `storage_busy` (locked), `storage_unavailable` (the server
  /// went out of reach; see `reconnect`) or `storage_error` (permanent).
  static caf::expected<std::unique_ptr<soci_backend>>
  open(const open_options& opts);

  // -- modifiers --------------------------------------------------------------

  caf::expected<commit_result>
  commit(const upsert_batch& batch,
         const std::optional<feed_position>& watermark) override;

  caf::expected<void> track(const std::vector<feed_position>& xs) override;

  caf::expected<uint64_t> expire(int64_t cutoff_ms) override;

  caf::expected<void> flush() override;

  caf::expected<void> reconnect() override;

  void on_lock_wait(std::function<void()> f) override;

  void
  keep_state(std::vector<std::pair<std::string, std::string>> kvs) override;

  // -- inspectors -------------------------------------------------------------

  caf::expected<std::vector<asin_memory>>
  known(const std::vector<std::string>& asins) override;

  caf::expected<std::vector<deal_record>>
  stalest(uint32_t n, int64_t seen_before_ms) override;

  caf::expected<std::optional<deal_record>>
  find(const std::string& asin) override;

  caf::expected<feed_position> watermark() override;

  caf::expected<std::vector<feed_position>> pending() override;

  caf::expected<storage_counts> counts() override;
  caf::expected<uint64_t> deal_count() override;

  caf::expected<std::vector<deal_record>>
  list_deals(const deal_listing& q) override;

  caf::expected<uint64_t> count_deals(const deal_listing& q) override;
  caf::expected<std::vector<std::pair<std::string, std::string>>>
  state(const std::string& prefix) override;

  const char* kind() const noexcept override;

  /// The schema version found in the database after migrating.
  int32_t schema_version() const noexcept;

private:
  struct impl;

  explicit soci_backend(std::unique_ptr<impl> ptr);

  /// The rest of `open` for `open_options::read_only`: checks the schema
  /// version without creating or migrating anything.
  static caf::expected<std::unique_ptr<soci_backend>>
  open_read_only(std::unique_ptr<impl> ptr);

  std::unique_ptr<impl> impl_;
};

} // namespace keepa::db
