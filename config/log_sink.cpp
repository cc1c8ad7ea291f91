#include "config/log_sink.hpp"

namespace keepa {

const char* to_string(log_level x) {
  switch (x) {
    case log_level::trace: return "trace";
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warning: return "warning";
    case log_level::error: return "error";
    case log_level::off: return "off";
  }
  return "off";
}

std::optional<log_level> parse_log_level(std::string_view x) {
  for (auto level : {log_level::trace, log_level::debug, log_level::info,
                     log_level::warning, log_level::error, log_level::off})
    if (x == to_string(level))
      return level;
  if (x == "warn")
    return log_level::warning;
  return std::nullopt;
}

} // namespace keepa
