// Backend fixtures for the storage tests: a SQLite file in a fresh temporary
// directory, or the test PostgreSQL server with the schema dropped. Both
// offer a raw SOCI session for what the backend must not do itself (lock
// the database, plant a failing trigger, fake a newer schema).

#pragma once

#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "messages/error.hpp"
#include "messages/storage.hpp"
#include "storage/soci.hpp"
#include "storage/soci_backend.hpp"

/// REQUIRE for caf::expected, showing the keepa error when it fails.
#define REQUIRE_OK(expr)                                               \
  do {                                                                 \
    auto&& require_ok_result = (expr);                                 \
    if (!require_ok_result)                                            \
      FAIL(#expr << ": " << keepa::render(require_ok_result.error())); \
  } while (false)

namespace keepa::test {

/// A deal with every field set from `asin` and `seen_ms`.
deal_record make_deal(const std::string& asin, int64_t seen_ms,
                      int32_t last_update = 1000);

rejection_record make_rejection(const std::string& asin, int32_t price,
                                int64_t at_ms);

/// A temporary directory, removed with everything in it.
struct temp_dir {
  temp_dir();
  ~temp_dir();
  std::string path;
};

struct backend_fixture {
  virtual ~backend_fixture() = default;

  /// The storage URL of this fixture's database.
  virtual std::string url() const = 0;

  /// "sqlite" or "postgresql".
  virtual std::string kind() const = 0;

  /// A second, raw connection to the same database.
  virtual std::unique_ptr<soci::session> raw() const = 0;

  /// Takes every table's write lock on `s` until its transaction ends.
  virtual void lock_all(soci::session& s) const = 0;

  /// Makes every INSERT into rejections fail.
  virtual void plant_failing_trigger() const = 0;

  /// What changes whenever the database changes: the SQLite file's bytes
  /// and modification time (and its WAL's, unless empty), or every
  /// PostgreSQL table's rows.
  virtual std::string fingerprint() const = 0;

  /// The fingerprint of no database at all.
  virtual std::string fingerprint_of_nothing() const = 0;

  db::open_options options(int32_t version = db::current_schema_version) const;

  /// Opens the database; REQUIREs success.
  std::unique_ptr<db::soci_backend>
  open(int32_t version = db::current_schema_version) const;
};

struct sqlite_fixture : backend_fixture {
  temp_dir dir;
  std::string file = dir.path + "/keepa.db";

  std::string url() const override;
  std::string kind() const override;
  std::unique_ptr<soci::session> raw() const override;
  void lock_all(soci::session& s) const override;
  void plant_failing_trigger() const override;
  std::string fingerprint() const override;
  std::string fingerprint_of_nothing() const override;
};

struct postgresql_fixture : backend_fixture {
  postgresql_fixture();

  std::string url() const override;
  std::string kind() const override;
  std::unique_ptr<soci::session> raw() const override;
  void lock_all(soci::session& s) const override;
  void plant_failing_trigger() const override;
  std::string fingerprint() const override;
  std::string fingerprint_of_nothing() const override;
};

/// Runs the backend-agnostic contract as SECTIONs against `fix`.
void run_backend_contract(const backend_fixture& fix);

} // namespace keepa::test
