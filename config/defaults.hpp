// Default values of the keepa.* options, grouped by component.

#pragma once

#include <chrono>
#include <string>

namespace keepa::defaults {

/// keepa.profile: pick by the refill rate learned from Keepa's answers.
inline const std::string profile = "auto";

namespace token {
using namespace std::chrono_literals;
/// Ask /token only when no observation is fresher than this.
constexpr auto max_observation_age = std::chrono::minutes(60);
constexpr auto stagger = std::chrono::milliseconds(5);
constexpr auto ticket_grace = std::chrono::seconds(30);
constexpr auto grant_ttl = std::chrono::minutes(10);
constexpr auto probe_retry = std::chrono::seconds(1);
} // namespace token

} // namespace keepa::defaults
