#include "storage/queries.hpp"

namespace keepa::db {

std::string delete_below_watermark(int32_t version) {
  std::string in_domain = std::string{version >= 6 ? "scope = :s AND " : ""}
    + (version >= 5 ? "domain = :domain AND " : "");
  // A row value: with `last_update < :lu OR (last_update = :lu2 AND ...)`
  // SQLite searched by the domain alone and read every tracked position at
  // each commit. SQLite (3.15 on) and PostgreSQL both take this one for a
  // range on the key.
  return "DELETE FROM pending WHERE " + in_domain
    + "(last_update, asin) <= (:lu, :asin)";
}

} // namespace keepa::db
