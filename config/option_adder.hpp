// Registers options together with their defaults: `with_default(help, x)`
// gives the help text "help (default X)", X as one would type it on the
// command line ("none" for an empty string), and `option_adder` records x
// itself, so --help states every default and --dump-config prints it
// (config/cli.hpp). The keepa.* registry (config/options.cpp) and each
// tool's own groups use it.

#pragma once

#include <chrono>
#include <cstdint>
#include <ratio>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/config_option_adder.hpp>
#include <caf/config_value.hpp>
#include <caf/settings.hpp>
#include <caf/string_view.hpp>
#include <caf/timespan.hpp>

namespace keepa {

// -- rendering defaults as command-line values --------------------------------

inline std::string value_text(bool x) {
  return x ? "true" : "false";
}

inline std::string value_text(const char* x) {
  return *x == '\0' ? "none" : x;
}

inline std::string value_text(const std::string& x) {
  return value_text(x.c_str());
}

template<class T>
std::enable_if_t<std::is_integral_v<T>, std::string> value_text(T x) {
  return std::to_string(x);
}

inline std::string value_text(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

template<class T>
std::string value_text(const std::vector<T>& xs) {
  std::string out = "[";
  for (auto& x : xs)
    out += (out.size() > 1 ? ", " : "") + value_text(x);
  return out + "]";
}

/// In the unit the default is declared in, with CAF's suffix.
template<class Rep, class Period>
std::string value_text(std::chrono::duration<Rep, Period> x) {
  auto count = std::to_string(x.count());
  if constexpr (std::is_same_v<Period, std::ratio<3600>>)
    return count + "h";
  else if constexpr (std::is_same_v<Period, std::ratio<60>>)
    return count + "min";
  else if constexpr (std::is_same_v<Period, std::ratio<1>>)
    return count + "s";
  else if constexpr (std::is_same_v<Period, std::milli>)
    return count + "ms";
  else if constexpr (std::is_same_v<Period, std::micro>)
    return count + "us";
  else if constexpr (std::is_same_v<Period, std::nano>) {
    // caf::timespan: in the largest unit that holds it exactly.
    for (auto [ns, suffix] :
         {std::pair{int64_t{3'600'000'000'000}, "h"},
          std::pair{int64_t{60'000'000'000}, "min"},
          std::pair{int64_t{1'000'000'000}, "s"},
          std::pair{int64_t{1'000'000}, "ms"}, std::pair{int64_t{1'000}, "us"}})
      if (x.count() != 0 && x.count() % ns == 0)
        return std::to_string(x.count() / ns) + suffix;
    return x.count() == 0 ? std::string{"0s"} : count + "ns";
  } else
    static_assert(!std::is_same_v<Period, Period>,
                  "declare the default in h, min, s, ms, us or ns");
}

// -- defaults as config values ------------------------------------------------

inline caf::config_value default_value(bool x) {
  return caf::config_value{x};
}

inline caf::config_value default_value(const char* x) {
  return caf::config_value{std::string{x}};
}

inline caf::config_value default_value(const std::string& x) {
  return caf::config_value{x};
}

template<class T>
std::enable_if_t<std::is_integral_v<T>, caf::config_value> default_value(T x) {
  return caf::config_value{static_cast<int64_t>(x)};
}

inline caf::config_value default_value(double x) {
  return caf::config_value{x};
}

template<class T>
caf::config_value default_value(const std::vector<T>& xs) {
  caf::config_value::list result;
  for (auto& x : xs)
    result.emplace_back(default_value(x));
  return caf::config_value{std::move(result)};
}

template<class Rep, class Period>
caf::config_value default_value(std::chrono::duration<Rep, Period> x) {
  return caf::config_value{std::chrono::duration_cast<caf::timespan>(x)};
}

/// A help text stating a default, and that default.
struct described {
  std::string text;
  caf::config_value value;

  /// For a plain caf::config_option_adder (the default is then not
  /// recorded, and --dump-config shows the option only when it is set).
  operator caf::string_view() const {
    return text;
  }
};

/// `help` followed by " (default X)", and x.
template<class T>
described with_default(std::string help, const T& x) {
  return {help + " (default " + value_text(x) + ")", default_value(x)};
}

/// Adds options of one category, recording each default given with
/// `with_default` in `*defaults` (when not null) under its full name.
class option_adder {
public:
  option_adder(caf::config_option_set& opts, caf::string_view category,
               caf::settings* defaults = nullptr)
    : adder_(opts, category),
      prefix_(category == "global"
                ? std::string{}
                : std::string{category.begin(), category.end()} + "."),
      defaults_(defaults) {
    // nop
  }

  /// An option without a default (a flag that acts, say).
  template<class T>
  option_adder& add(caf::string_view name, caf::string_view text) {
    adder_.add<T>(name, text);
    return *this;
  }

  /// An option with its default.
  template<class T>
  option_adder& add(caf::string_view name, const described& d) {
    adder_.add<T>(name, d.text);
    record(name, d.value);
    return *this;
  }

  /// An option parsed into `ref`, which holds its default.
  template<class T>
  option_adder& add(T& ref, caf::string_view name, caf::string_view help) {
    auto d = with_default(std::string{help.begin(), help.end()}, ref);
    adder_.add(ref, name, d.text);
    record(name, d.value);
    return *this;
  }

private:
  void record(caf::string_view name, const caf::config_value& x) {
    if (defaults_ == nullptr)
      return;
    std::string long_name{name.begin(), name.end()};
    caf::put(*defaults_, prefix_ + long_name.substr(0, long_name.find(',')), x);
  }

  caf::config_option_adder adder_;
  std::string prefix_;
  caf::settings* defaults_;
};

} // namespace keepa
