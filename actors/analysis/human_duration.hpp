// Durations as people read them, for the status line, /status texts and
// keepa-eta: two units at most, the second always shown so a live line does
// not jitter ("11 min 51 s", "1 h 0 min").

#pragma once

#include <string>

#include <caf/timespan.hpp>

namespace keepa {

/// "42 s", "11 min 51 s", "7 h 59 min", "2 d 2 h" (truncated; negative
/// durations read as 0 s).
std::string human_duration(caf::timespan x);

} // namespace keepa
