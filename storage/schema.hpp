// The versioned schema: migration N turns a version N-1 database into a
// version N one. Internal to the SOCI backend.

#pragma once

#include <cstdint>

namespace soci {
class session;
} // namespace soci

namespace keepa::db {

enum class dialect : uint8_t {
  sqlite,
  postgresql,
};

/// The version in the schema_version table, 0 for an empty database.
/// Creates the table if missing. Call inside a write transaction.
int32_t read_schema_version(soci::session& sql);

/// Applies migrations `from + 1` to `to` and records `to`. Call inside the
/// same write transaction.
void migrate(soci::session& sql, dialect d, int32_t from, int32_t to);

/// The upsert statement's MIN/MAX of two values in `d`.
const char* least(dialect d);
const char* greatest(dialect d);

} // namespace keepa::db
