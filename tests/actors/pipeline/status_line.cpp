// keepa-pipeline's status line (actors/pipeline/report.hpp, issue 19): it fits
// the terminal (80 columns by default), drops fields in the documented order,
// speaks in human durations, says what TOKEN waits for in plain words, shows
// deals per hour and the time since the start, and starts sanely before the
// first balance observation.

#include <string>

#include <catch2/catch.hpp>

#include <caf/settings.hpp>

#include "actors/pipeline/report.hpp"
#include "actors/pipeline/status_line.hpp"

using namespace keepa;
using namespace std::chrono_literals;

namespace {

actor_report actor(const std::string& name, caf::settings status) {
  actor_report a;
  a.name = name;
  a.ok = true;
  a.status = std::move(status);
  return a;
}

caf::settings
counters(std::initializer_list<std::pair<const char*, int64_t>> xs) {
  caf::settings result;
  for (auto& [key, value] : xs)
    result.emplace(std::string{key}, value);
  return result;
}

/// A long-running pipeline with big counters, TOKEN waiting for a balance.
pipeline_report busy_report() {
  pipeline_report r;
  r.token_ok = true;
  r.token.projected = -173;
  r.token.refill_rate = 5;
  r.token.cap = 300;
  r.token.mode = "recharging";
  r.token.waiting_for = 120;
  waiting_entry w;
  w.cost = 12;
  w.eta = std::chrono::seconds{711};
  r.token.queue.push_back(w);
  r.token.totals.consumed = 1234567;
  auto scanner = counters(
    {{"candidates", 1234567}, {"pre-rejected", 987654}, {"remembered", 12}});
  scanner.emplace("feed", std::string{"feed-limited"});
  r.actors.push_back(actor("scanner", scanner));
  r.actors.push_back(
    actor("peek-filter", counters({{"peeked", 234567}, {"rejected", 123456}})));
  r.actors.push_back(
    actor("committer", counters({{"committed", 12345}, {"rejected", 2345}})));
  r.actors.push_back(actor("updater", counters({{"refreshed", 34567}})));
  return r;
}

} // namespace

TEST_CASE("the status line fits 80 columns", "[pipeline][status-line]") {
  auto line = status_line(busy_report());
  INFO(line);
  CHECK(line.size() <= 80);
  CHECK(line.find("balance -173") != std::string::npos);
  CHECK(line.find("committed 12345") != std::string::npos);
}

TEST_CASE("the status line fits every width, dropping fields in the "
          "documented order",
          "[pipeline][status-line]") {
  auto r = busy_report();
  status_view wide;
  wide.width = 0; // no limit
  wide.elapsed = std::chrono::hours{2};
  auto all = status_line(r, wide);
  INFO(all);
  for (auto field : {"balance -173", "recharging", "committed 12345",
                     "scanned 1234567", "peeked 234567", "rejected 125801",
                     "updated 34567", "pre-rejected 987666", "tokens/deal 100",
                     "feed-limited", "6172 deals/h", "up 2 h 0 min"})
    CHECK(all.find(field) != std::string::npos);
  for (size_t width = 20; width <= 200; ++width) {
    status_view v = wide;
    v.width = width;
    auto line = status_line(r, v);
    INFO(width << ": " << line);
    CHECK(line.size() <= std::max<size_t>(width, 40));
    // The balance and the committed deals stay whenever anything fits.
    if (width >= 40) {
      CHECK(line.find("balance -173") != std::string::npos);
      CHECK(line.find("committed 12345") != std::string::npos);
    }
  }
  // The documented order: counters of the early stages go first, then the
  // other details; what is dropped at one width stays dropped below it.
  auto at = [&](size_t width) {
    status_view v = wide;
    v.width = width;
    return status_line(r, v);
  };
  CHECK(at(100).find("updated") == std::string::npos);
  CHECK(at(100).find("balance -173") != std::string::npos);
  for (size_t width = 200; width > 40; --width) {
    auto now = at(width);
    auto narrower = at(width - 1);
    for (auto field : {"updated", "pre-rejected", "scanned", "peeked",
                       "tokens/deal", "feed-limited", "deals/h", "up "})
      if (now.find(field) == std::string::npos)
        CHECK(narrower.find(field) == std::string::npos);
  }
}

TEST_CASE("the status line says what TOKEN waits for in plain words and "
          "human durations",
          "[pipeline][status-line]") {
  status_view v;
  v.width = 0;
  auto line = status_line(busy_report(), v);
  INFO(line);
  CHECK(line.find("waiting until the balance reaches 120, in 11 min 51 s")
        != std::string::npos);
  CHECK(line.find("waiting for") == std::string::npos);
  CHECK(line.find("ETA") == std::string::npos);
  CHECK(human_duration(std::chrono::seconds{0}) == "0 s");
  CHECK(human_duration(std::chrono::milliseconds{42900}) == "42 s");
  CHECK(human_duration(std::chrono::seconds{711}) == "11 min 51 s");
  CHECK(human_duration(std::chrono::seconds{3600}) == "1 h 0 min");
  CHECK(human_duration(std::chrono::seconds{7 * 3600 + 59 * 60 + 59})
        == "7 h 59 min");
  CHECK(human_duration(std::chrono::hours{50}) == "2 d 2 h");
}

TEST_CASE("the first status line, before any balance observation, says so",
          "[pipeline][status-line]") {
  pipeline_report r;
  r.token_ok = true;
  r.token.mode = "unknown";
  r.token.waiting_for = 1;
  waiting_entry w;
  w.cost = 1;
  w.eta = caf::timespan{0};
  r.token.queue.push_back(w);
  auto line = status_line(r);
  INFO(line);
  CHECK(line.find("balance 0") == std::string::npos);
  CHECK(line.find("unknown (") == std::string::npos);
  CHECK(line.find("waiting for 1 tokens") == std::string::npos);
  CHECK(line.find("balance not known yet") != std::string::npos);
  // No answer from TOKEN at all reads the same.
  pipeline_report none;
  CHECK(status_line(none).find("balance not known yet") != std::string::npos);
}

TEST_CASE("the status line shows deals per hour and the time since the "
          "start",
          "[pipeline][status-line]") {
  auto r = busy_report();
  status_view v;
  v.width = 0;
  v.elapsed = std::chrono::minutes{90};
  auto line = status_line(r, v);
  INFO(line);
  CHECK(line.find("8230 deals/h") != std::string::npos);
  CHECK(line.find("up 1 h 30 min") != std::string::npos);
  // Before a minute has passed, no rate.
  v.elapsed = std::chrono::seconds{30};
  CHECK(status_line(r, v).find("deals/h") == std::string::npos);
}

TEST_CASE("a mode with a long reason keeps its first words at 80 columns",
          "[pipeline][status-line]") {
  auto r = busy_report();
  r.token.mode = "budget server unreachable (127.0.0.1:43473): "
                 "system_error(cannot_connect_to_node, \"connection refused "
                 "by the remote side\")";
  r.token.waiting_for = 0;
  r.token.queue.clear();
  auto line = status_line(r);
  INFO(line);
  CHECK(line.size() <= 80);
  CHECK(line.find("budget server unreachable") != std::string::npos);
  // With room, the whole reason shows.
  status_view wide;
  wide.width = 0;
  CHECK(status_line(r, wide).find("cannot_connect_to_node")
        != std::string::npos);
}
