// keepa-pipeline's dashboard: the page at `/` (tools/keepa-pipeline/web/,
// embedded in the binary) and the JSON it polls, all read-only:
//
//   GET /api/summary  TOKEN now (balance, what it waits for and when),
//                     the stage counters with rates per hour, tokens spent
//                     by stage, stored deals
//   GET /api/balance  the balance over the last hours (a bounded ring of
//                     samples, one per 10 s for 6 h), with cap and floor
//   GET /api/deals    one page of stored deals, best first, filtered, with
//                     Amazon and Keepa links (config/locale.hpp)
//   GET /api/locales  the Amazon locales, for the page's filter
//
// The fields carry their units in their names (README, "The dashboard").
// The server that mounts it (service.cpp) decides who may read (access.hpp).
// Nothing here holds or shows a secret: no API key, no token, no storage
// URL.

#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/timespan.hpp>

#include "actors/pipeline/report.hpp"
#include "storage/backend.hpp"

namespace httplib {
class Server;
} // namespace httplib

namespace keepa {

/// What the dashboard remembers of one report.
struct dashboard_sample {
  int64_t at_ms = 0;
  int64_t balance = 0;
  int64_t cap = 0;
  int64_t floor = 0;
  /// Deals by stage (deals_of) and tokens consumed by stage, at `at_ms`.
  deal_counts deals{};
  std::array<int64_t, num_stages> spent{};
};

/// The sample of a report with a token snapshot; none without one, or
/// before TOKEN's first observation (mode "unknown").
std::optional<dashboard_sample> sample_of(const pipeline_report& r);

/// A bounded ring of samples at least `every` apart: the newest
/// `capacity`, oldest first.
class sample_ring {
public:
  sample_ring(size_t capacity, caf::timespan every);

  /// Keeps `x` unless the newest sample is less than `every` older; drops
  /// the oldest when full. Returns whether it kept `x`.
  bool add(const dashboard_sample& x);

  const std::deque<dashboard_sample>& samples() const {
    return xs_;
  }

  size_t capacity() const {
    return capacity_;
  }

  caf::timespan every() const {
    return every_;
  }

  /// The oldest sample no older than `window` before `now_ms`, or the
  /// oldest of all if none is that recent; nullptr when empty.
  const dashboard_sample* since(int64_t now_ms, caf::timespan window) const;

private:
  size_t capacity_;
  caf::timespan every_;
  std::deque<dashboard_sample> xs_;
};

/// The change of `now` over `then` per hour of the time between them;
/// none when they are less than a minute apart (too short to say).
std::optional<double> per_hour(int64_t now, int64_t now_ms, int64_t then,
                               int64_t then_ms);

/// /api/summary for `r`, rates per hour over up to the last hour of
/// `ring`.
std::string summary_json(const pipeline_report& r, const sample_ring& ring);

/// /api/balance: every sample of `ring`.
std::string balance_json(const sample_ring& ring);

/// A parsed /api/deals query.
caf::expected<db::deal_listing>
parse_deal_listing(const std::multimap<std::string, std::string>& params,
                   int64_t now_ms);

/// Largest page /api/deals answers.
constexpr uint32_t max_deal_page = 200;

/// /api/deals: one page of `deals` out of `total` matching `q`.
std::string deals_json(const db::deal_listing& q, uint64_t total,
                       const std::vector<deal_record>& deals);

/// /api/locales: the Amazon locales (config/locale.hpp) by domain id,
/// code and currency, for the page's filter.
std::string locales_json();

/// How the dashboard samples and where it reads deals.
struct dashboard_options {
  /// The database keepa-pipeline writes; opened read-only, on the first
  /// /api/deals request (the pipeline creates it first).
  std::string storage_url;
  /// The balance ring: a sample at most every `sample_every`, the newest
  /// `samples` of them (one per 10 s for 6 h).
  caf::timespan sample_every = std::chrono::seconds{10};
  size_t samples = 2160;
};

/// The dashboard of one keepa-pipeline: feed it every report the program
/// collects (`observe`) and mount it on the HTTP server. Thread-safe.
class dashboard {
public:
  /// `report` collects a fresh report (and observes it).
  dashboard(std::function<pipeline_report()> report, dashboard_options opts);

  ~dashboard();

  /// Samples `r` into the ring.
  void observe(const pipeline_report& r);

  /// Adds GET /, the files of web/ and /api/* to `srv`.
  void mount(httplib::Server& srv);

  /// A page of stored deals as /api/deals answers it (status 200), or a
  /// status and a JSON error: 400 for a bad query, 503 while the database
  /// cannot be read.
  std::pair<int, std::string>
  deals(const std::multimap<std::string, std::string>& params, int64_t now_ms);

private:
  std::function<pipeline_report()> report_;
  dashboard_options opts_;
  mutable std::mutex mtx_;
  sample_ring ring_;
  /// Guards `db_` alone, so a slow query never holds up `observe`.
  std::mutex db_mtx_;
  std::unique_ptr<db::backend> db_;
};

} // namespace keepa
