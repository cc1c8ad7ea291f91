#include "actors/analysis/human_duration.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace keepa {

std::string human_duration(caf::timespan x) {
  auto s = std::max<int64_t>(
    0, std::chrono::duration_cast<std::chrono::seconds>(x).count());
  auto two = [](int64_t a, const char* ua, int64_t b, const char* ub) {
    return std::to_string(a) + " " + ua + " " + std::to_string(b) + " " + ub;
  };
  if (s < 60)
    return std::to_string(s) + " s";
  if (s < 3600)
    return two(s / 60, "min", s % 60, "s");
  if (s < 86400)
    return two(s / 3600, "h", s % 3600 / 60, "min");
  return two(s / 86400, "d", s % 86400 / 3600, "h");
}

} // namespace keepa
