// Where the actors' log lines go, with a level: a plain function object, so
// the core knows no logging library. Programs route it to their logger
// (config/logger.hpp, spdlog); tests collect the lines. A sink made from a
// function of the line alone drops the level.

#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace keepa {

/// Severity of a log record, lowest first; `off` logs nothing.
enum class log_level : uint8_t { trace, debug, info, warning, error, off };

/// "trace", "debug", "info", "warning", "error" or "off".
const char* to_string(log_level x);

/// The level named `x` (also "warn"); nothing for another word.
std::optional<log_level> parse_log_level(std::string_view x);

/// Receives log records; the KEEPA CLIENT redacts the key before calling it.
class log_sink {
public:
  using function = std::function<void(log_level, const std::string&)>;

  log_sink() = default;

  log_sink(function f) : f_(std::move(f)) {
    // nop
  }

  /// A receiver of the line alone (the level is dropped).
  template<
    class F,
    class = std::enable_if_t<
      std::is_invocable_v<
        F,
        const std::
          string&> && !std::is_invocable_v<F, log_level, const std::string&>>>
  log_sink(F f)
    : f_([g = std::move(f)](log_level, const std::string& line) { g(line); }) {
    // nop
  }

  explicit operator bool() const noexcept {
    return static_cast<bool>(f_);
  }

  /// An info record.
  void operator()(const std::string& line) const {
    (*this)(log_level::info, line);
  }

  void operator()(log_level level, const std::string& line) const {
    if (f_)
      f_(level, line);
  }

private:
  function f_;
};

} // namespace keepa
