// Statement texts that tests check for their query plan: the write path's
// delete below the watermark, the updater's reads and the expiry over
// `deals`. Internal to the SOCI backend.

#pragma once

#include <cstdint>
#include <string>

namespace keepa::db {

/// Deletes the tracked feed positions at or below the watermark, binding
/// :s (the scope, schema 6 on), :domain (schema 5 on), :lu and :asin in
/// that order. A range on the primary key of pending: it visits only the
/// rows it deletes, however many positions are still tracked above it.
std::string delete_below_watermark(int32_t version);

/// `domain = N AND ` for `deals` in schema 5 on (empty before), written
/// `+domain` so that SQLite does not take the primary key (domain, asin)
/// for it: every deal of the locale matches it, and SQLite then read and
/// sorted all of them for each stalest batch (and expiry) instead of the
/// range of deals_last_seen (last_seen_ms, domain, asin).
inline std::string deals_of_domain(int32_t version, int32_t domain) {
  return version >= 5 ? "+domain = " + std::to_string(domain) + " AND "
                      : std::string{};
}

/// The WHERE, ORDER and LIMIT of the stalest deals (binding :before and
/// :n): a walk along deals_last_seen that stops after `n` rows of the
/// domain. Ordered by last_seen_ms, then ASIN (the domain is one value).
inline std::string stalest_where(int32_t version, int32_t domain) {
  return "WHERE " + deals_of_domain(version, domain)
    + "last_seen_ms < :before ORDER BY last_seen_ms, "
    + (version >= 5 ? "domain, " : "") + "asin LIMIT :n";
}

/// Deletes the deals of the domain unseen since :cutoff; visits only them.
inline std::string expire_deals(int32_t version, int32_t domain) {
  return "DELETE FROM deals WHERE " + deals_of_domain(version, domain)
    + "last_seen_ms < :cutoff";
}

} // namespace keepa::db
