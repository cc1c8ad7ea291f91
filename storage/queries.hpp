// Statement texts of the write path that tests check for their query plan.
// Internal to the SOCI backend.

#pragma once

#include <cstdint>
#include <string>

namespace keepa::db {

/// Deletes the tracked feed positions at or below the watermark, binding
/// :s (the scope, schema 6 on), :domain (schema 5 on), :lu and :asin in
/// that order. A range on the primary key of pending: it visits only the
/// rows it deletes, however many positions are still tracked above it.
std::string delete_below_watermark(int32_t version);

} // namespace keepa::db
