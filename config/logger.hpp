// The log of a keepa program (spdlog): records with a timestamp and a level
// (`--keepa.log.level`, default info), as text or as JSON lines
// (`--keepa.log.format=json`), on stderr. On a terminal the console also
// keeps keepa-pipeline's live status line as the last line: a record
// clears it, prints itself and redraws it, so the two never garble each
// other. Not on a terminal, a status line is an info record like any
// other.
//
//   2026-12-01 10:31:26.123 warning storage: cannot write (...)
//   {"time":"2026-12-01T10:31:26.123Z","level":"warning",
//    "program":"keepa-pipeline","message":"storage: cannot write (...)"}

#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "config/log_sink.hpp"

namespace keepa {

struct log_options {
  log_level level = log_level::info;
  bool json = false;
};

/// Reads keepa.log.level and keepa.log.format; an unknown word is an error
/// naming the option.
caf::expected<log_options> log_options_from(const caf::settings& content);

/// The one writer of a program's stderr: log records and the status line.
/// Thread-safe; the actors log through `sink()`.
class console {
public:
  /// Writes to `out` (stderr unless a test says otherwise); `tty` keeps a
  /// live status line below the records.
  console(std::string program, log_options opts, bool tty,
          std::FILE* out = stderr);

  ~console();

  console(const console&) = delete;
  console& operator=(const console&) = delete;

  /// One record, if `level` reaches the configured level.
  void log(log_level level, const std::string& message);

  /// On a terminal: replaces the live status line. Otherwise: an info
  /// record.
  void status(const std::string& line);

  /// On a terminal: ends the live status line (what follows starts on a
  /// line of its own) and stops redrawing it.
  void end_status();

  /// A sink that logs here (for the actors and the endpoints).
  log_sink sink();

  bool tty() const noexcept;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

/// The columns of the terminal at `fd`; 0 when it is none.
size_t terminal_width(int fd);

} // namespace keepa
