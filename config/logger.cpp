#include "config/logger.hpp"

#include <chrono>
#include <ctime>
#include <mutex>

#include <sys/ioctl.h>
#include <unistd.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>

#include <caf/settings.hpp>

#include "config/defaults.hpp"
#include "messages/error.hpp"

namespace keepa {

namespace {

spdlog::level::level_enum spdlog_level(log_level x) {
  switch (x) {
    case log_level::trace: return spdlog::level::trace;
    case log_level::debug: return spdlog::level::debug;
    case log_level::info: return spdlog::level::info;
    case log_level::warning: return spdlog::level::warn;
    case log_level::error: return spdlog::level::err;
    case log_level::off: return spdlog::level::off;
  }
  return spdlog::level::info;
}

/// Whether bytes [i, i + n) of `x` are continuation bytes, the first in
/// [lo, hi].
bool continues(const std::string& x, size_t i, size_t n, unsigned char lo,
               unsigned char hi) {
  if (i + n > x.size())
    return false;
  auto first = static_cast<unsigned char>(x[i]);
  if (first < lo || first > hi)
    return false;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(x[i + k]) & 0xC0) != 0x80)
      return false;
  return true;
}

/// `x` with every byte that starts no valid UTF-8 sequence replaced by
/// U+FFFD, so a JSON line stays valid whatever a message holds.
std::string valid_utf8(const std::string& x) {
  std::string out;
  out.reserve(x.size());
  for (size_t i = 0; i < x.size();) {
    auto c = static_cast<unsigned char>(x[i]);
    size_t n = 0;
    if (c < 0x80)
      n = 1;
    else if (c >= 0xC2 && c <= 0xDF && continues(x, i + 1, 1, 0x80, 0xBF))
      n = 2;
    else if (c >= 0xE0 && c <= 0xEF
             && continues(x, i + 1, 2, c == 0xE0 ? 0xA0 : 0x80,
                          c == 0xED ? 0x9F : 0xBF))
      n = 3;
    else if (c >= 0xF0 && c <= 0xF4
             && continues(x, i + 1, 3, c == 0xF0 ? 0x90 : 0x80,
                          c == 0xF4 ? 0x8F : 0xBF))
      n = 4;
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(x, i, n);
      i += n;
    }
  }
  return out;
}

/// "2026-12-01T10:31:26.123Z".
std::string utc_text(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
              t.time_since_epoch())
              .count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  auto n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ",
                static_cast<int>(ms % 1000));
  return buf;
}

/// Writes records, and on a terminal keeps the status line below them.
class console_sink : public spdlog::sinks::base_sink<std::mutex> {
public:
  console_sink(std::string program, bool json, bool tty, std::FILE* out)
    : program_(std::move(program)), json_(json), tty_(tty), out_(out) {
    set_formatter(std::make_unique<spdlog::pattern_formatter>(
      "%Y-%m-%d %H:%M:%S.%e %l %v", spdlog::pattern_time_type::local, "\n"));
  }

  void status(const std::string& line) {
    std::lock_guard<std::mutex> guard{mutex_};
    status_ = line;
    write("\r\x1b[K" + status_);
  }

  void end_status() {
    std::lock_guard<std::mutex> guard{mutex_};
    if (!status_.empty())
      write("\n");
    status_.clear();
  }

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string record;
    if (json_) {
      rapidjson::StringBuffer buf;
      rapidjson::Writer<rapidjson::StringBuffer> w{buf};
      auto text
        = valid_utf8(std::string{msg.payload.data(), msg.payload.size()});
      auto level = spdlog::level::to_string_view(msg.level);
      w.StartObject();
      w.Key("time");
      auto time = utc_text(msg.time);
      w.String(time.data(), static_cast<rapidjson::SizeType>(time.size()));
      w.Key("level");
      w.String(level.data(), static_cast<rapidjson::SizeType>(level.size()));
      w.Key("program");
      w.String(program_.data(),
               static_cast<rapidjson::SizeType>(program_.size()));
      w.Key("message");
      w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
      w.EndObject();
      record.assign(buf.GetString(), buf.GetSize());
      record += '\n';
    } else {
      spdlog::memory_buf_t buf;
      formatter_->format(msg, buf);
      record.assign(buf.data(), buf.size());
    }
    if (tty_ && !status_.empty())
      write("\r\x1b[K" + record + status_);
    else
      write(record);
  }

  void flush_() override {
    std::fflush(out_);
  }

private:
  void write(const std::string& x) {
    std::fwrite(x.data(), 1, x.size(), out_);
    std::fflush(out_);
  }

  std::string program_;
  bool json_;
  bool tty_;
  std::FILE* out_;
  /// The live status line (terminal only); empty when none is shown.
  std::string status_;
};

} // namespace

caf::expected<log_options> log_options_from(const caf::settings& content) {
  log_options result;
  auto level = caf::get_or(content, "keepa.log.level",
                           std::string{defaults::logging::level});
  auto x = parse_log_level(level);
  if (!x)
    return caf::make_error(ec::invalid_config,
                           "keepa.log.level must be trace, debug, info, "
                           "warning, error or off");
  result.level = *x;
  auto format = caf::get_or(content, "keepa.log.format",
                            std::string{defaults::logging::format});
  if (format != "text" && format != "json")
    return caf::make_error(ec::invalid_config,
                           "keepa.log.format must be text or json");
  result.json = format == "json";
  return result;
}

struct console::impl {
  std::shared_ptr<console_sink> sink;
  spdlog::logger logger;
  bool tty;

  impl(std::string program, log_options opts, bool is_tty, std::FILE* out)
    : sink(std::make_shared<console_sink>(program, opts.json, is_tty, out)),
      logger(program, sink),
      tty(is_tty) {
    logger.set_level(spdlog_level(opts.level));
    logger.flush_on(spdlog::level::trace);
  }
};

console::console(std::string program, log_options opts, bool tty,
                 std::FILE* out)
  : impl_(std::make_shared<impl>(std::move(program), opts, tty, out)) {
  // nop
}

console::~console() {
  end_status();
}

void console::log(log_level level, const std::string& message) {
  if (level == log_level::off)
    return;
  impl_->logger.log(spdlog_level(level), "{}", message);
}

void console::status(const std::string& line) {
  if (impl_->tty)
    impl_->sink->status(line);
  else
    log(log_level::info, line);
}

void console::end_status() {
  if (impl_->tty)
    impl_->sink->end_status();
}

log_sink console::sink() {
  // The actors may outlive a console that ends first; they keep it alive.
  return log_sink{[self = impl_](log_level level, const std::string& line) {
    if (level != log_level::off)
      self->logger.log(spdlog_level(level), "{}", line);
  }};
}

bool console::tty() const noexcept {
  return impl_->tty;
}

size_t terminal_width(int fd) {
  winsize ws{};
  if (isatty(fd) == 0 || ioctl(fd, TIOCGWINSZ, &ws) != 0)
    return 0;
  return ws.ws_col;
}

} // namespace keepa
