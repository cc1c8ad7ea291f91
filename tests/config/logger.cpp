// The console (config/logger.hpp): records with timestamp and level, the
// level filter, JSON lines that stay valid whatever a message holds, and on
// a terminal the live status line kept below the records.

#include "config/logger.hpp"

#include <cstdio>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <caf/settings.hpp>

using namespace keepa;

namespace {

/// What the console wrote to a temporary file.
struct captured {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file{std::tmpfile(),
                                                       &std::fclose};

  std::string text() {
    std::fflush(file.get());
    std::rewind(file.get());
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), file.get())) > 0)
      out.append(buf, n);
    return out;
  }
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> result;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    result.push_back(line);
  return result;
}

} // namespace

TEST_CASE("records carry a timestamp and a level, below the configured "
          "level nothing",
          "[config][logger]") {
  captured out;
  log_options opts;
  opts.level = log_level::warning;
  {
    console c{"prog", opts, false, out.file.get()};
    c.log(log_level::info, "not shown");
    c.log(log_level::warning, "storage: cannot write");
    c.sink()(log_level::error, "keepa-client: GET /token failed");
    c.sink()("an info line from a plain sink");
  }
  auto xs = lines_of(out.text());
  REQUIRE(xs.size() == 2);
  std::regex stamped{R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (\w+) (.*))"};
  std::smatch m;
  REQUIRE(std::regex_match(xs[0], m, stamped));
  CHECK(m[1] == "warning");
  CHECK(m[2] == "storage: cannot write");
  REQUIRE(std::regex_match(xs[1], m, stamped));
  CHECK(m[1] == "error");
}

TEST_CASE("JSON lines escape quotes, control characters and bytes that are "
          "not UTF-8",
          "[config][logger]") {
  captured out;
  log_options opts;
  opts.json = true;
  std::string nasty
    = "a \"quoted\" \\ path\nnew line\ttab \x01 bad \xff\xfe end";
  {
    console c{"prog", opts, false, out.file.get()};
    c.log(log_level::warning, nasty);
    c.status("balance 5 | spending");
  }
  auto xs = lines_of(out.text());
  REQUIRE(xs.size() == 2);
  rapidjson::Document doc;
  doc.Parse(xs[0].c_str());
  REQUIRE(!doc.HasParseError());
  CHECK(std::string{doc["level"].GetString()} == "warning");
  CHECK(std::string{doc["program"].GetString()} == "prog");
  CHECK(std::string{doc["message"].GetString()}
        == "a \"quoted\" \\ path\nnew line\ttab \x01 bad "
           "\xEF\xBF\xBD\xEF\xBF\xBD end");
  std::regex utc{R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"};
  CHECK(std::regex_match(std::string{doc["time"].GetString()}, utc));
  // Not on a terminal, the status line is an info record.
  doc.Parse(xs[1].c_str());
  REQUIRE(!doc.HasParseError());
  CHECK(std::string{doc["level"].GetString()} == "info");
  CHECK(std::string{doc["message"].GetString()} == "balance 5 | spending");
}

TEST_CASE("on a terminal a record clears the status line, prints itself and "
          "redraws the line",
          "[config][logger]") {
  captured out;
  {
    console c{"prog", log_options{}, true, out.file.get()};
    c.status("balance 5");
    c.log(log_level::warning, "storage: cannot write");
    c.status("balance 6");
    c.end_status();
    c.log(log_level::info, "stopping");
  }
  auto text = out.text();
  INFO(text);
  auto clear = std::string{"\r\x1b[K"};
  auto warn = text.find("warning storage: cannot write\n");
  REQUIRE(warn != std::string::npos);
  // The status line, cleared, the record, the status line again.
  auto first = text.find(clear + "balance 5");
  REQUIRE(first != std::string::npos);
  CHECK(text.rfind(clear, warn) > first);
  CHECK(text.find("balance 5", warn) == warn + 30);
  CHECK(text.find(clear + "balance 6") != std::string::npos);
  // After end_status, records start on their own line and nothing redraws.
  auto stop = text.find("info stopping\n");
  REQUIRE(stop != std::string::npos);
  CHECK(text.substr(stop).find("balance") == std::string::npos);
  CHECK(text.find("balance 6\n") != std::string::npos);
}

TEST_CASE("keepa.log.level and keepa.log.format are checked",
          "[config][logger]") {
  caf::settings xs;
  CHECK(log_options_from(xs)->level == log_level::info);
  caf::put(xs, "keepa.log.level", std::string{"loud"});
  CHECK(!log_options_from(xs));
  caf::put(xs, "keepa.log.level", std::string{"warn"});
  CHECK(log_options_from(xs)->level == log_level::warning);
  caf::put(xs, "keepa.log.format", std::string{"xml"});
  CHECK(!log_options_from(xs));
  caf::put(xs, "keepa.log.format", std::string{"json"});
  CHECK(log_options_from(xs)->json);
}
