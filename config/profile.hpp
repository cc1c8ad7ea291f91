// Batch and threshold profiles per refill tier (config/profiles/*.ini).

#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "messages/token.hpp"

namespace keepa {

/// Keepa's per-request limits that bound a profile's batch sizes.
namespace limits {
constexpr int32_t max_asins_per_product = 100;
constexpr int32_t max_deal_pages = 67; // 10 000 results / 150 per page
} // namespace limits

/// One refill tier's settings.
struct profile {
  std::string name;
  /// Applies to plans refilling at least this many tokens per minute.
  int64_t min_rate = 0;
  /// Lowest balance a request may drive the account to; must be < 0.
  int64_t floor = -180;
  /// Deal pages (150 deals each) the scanner reads per pass.
  int32_t scan_pages = 1;
  /// ASINs per peek, commit and light-update request.
  int32_t peek_batch = 20;
  int32_t commit_batch = 5;
  int32_t update_batch = 50;
  /// Stage service order, most important first (commit, peek, scan).
  std::vector<stage> priority{stage::commit, stage::peek, stage::scan};
  /// Share of the budget the updater gets while others also wait.
  double updater_share = 0.2;
  /// `offers` for the peek (0 = omit: 1 token per ASIN).
  int32_t peek_offers = 0;
  /// `offers` for the commit (20..100).
  int32_t commit_offers = 20;
};

/// Checks a profile against Keepa's limits.
caf::error validate(const profile& x);

/// Reads one profile from a parsed INI file (section [profile]); rejects
/// unknown keys and invalid values.
caf::expected<profile> profile_from(const caf::settings& xs,
                                    const std::string& origin);

/// Loads every *.ini file in `dir`, sorted by min_rate.
caf::expected<std::vector<profile>> load_profiles(const std::string& dir);

/// The profile for `rate`: the one with the highest min_rate <= rate.
const profile* select_profile(const std::vector<profile>& xs, int64_t rate);

/// The profile called `name`, or nullptr.
const profile* find_profile(const std::vector<profile>& xs,
                            const std::string& name);

} // namespace keepa
