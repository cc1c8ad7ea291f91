// keepa-sim's model: one Keepa API key's token bucket, a deterministic book
// catalogue, the deal feed and the request costs, as plain C++17 without
// CAF. Time always comes from the caller (`now_unix_ms`), so the same model
// runs on the wall clock (the HTTP server) or on a virtual clock (tests and
// the pipeline's in-process backend).
//
// Where ../shared/keepa-api.md lists an open question, the model picks the
// behaviour that is harder on the client; each such place says so in
// model.cpp with the question's number (Q1..Q14).

#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace keepa::sim {

/// Every knob of the simulator; everything is deterministic from `seed`.
struct options {
  /// The one key accepted.
  std::string key = "sim-key";
  /// Tokens per minute: the plan's rate, as the envelope's `refillRate`
  /// reports it.
  int64_t refill_rate = 5;
  /// `tokenFlowReduction` at the start: what API trackings take off the
  /// refill (keepa-api.md §2.2). Q9, decided the harder way: `refillRate`
  /// stays the plan's (gross) rate and each tick adds refill_rate minus the
  /// reduction rounded up (a fractional reduction takes a whole token), at
  /// least 0; the cap is 60 x that net rate.
  double flow_reduction = 0;
  /// Changes of the reduction during the run: (ms after the model's start,
  /// new value), in time order. A refill tick at or after a change's time
  /// adds the new net rate.
  std::vector<std::pair<int64_t, double>> flow_schedule;
  /// Balance at the first request; -1 = start full (60 x rate); other
  /// negative values start in debt.
  int64_t initial_tokens = -1;
  /// Optional hard lockout (Q10, off by default: no Keepa source confirms
  /// it): a request that would take the balance below this floor is refused
  /// and the key stays locked until a refill tick leaves it positive.
  std::optional<int64_t> lockout_floor;
  uint64_t seed = 1;
  /// Number of books in the catalogue.
  int products = 5000;
  /// Fraction of books that pass a peek-style filter (includes the good).
  double peek_pass_fraction = 0.15;
  /// Fraction of books that are good deals under full analysis.
  double good_fraction = 0.03;
  /// Product updates per minute (virtual time) feeding /deal.
  double update_rate = 4.0;
  /// How long the server takes before answering (also processingTimeInMs).
  int64_t latency_ms = 0;
  /// Fault rates, each in [0, 1], drawn per request from the seed.
  double rate_5xx = 0;
  double rate_timeout = 0;
  double rate_malformed = 0;
  double rate_truncated = 0;
  double rate_reset = 0;
  /// Probability that one product's offer fetch fails (it then costs 1,
  /// keeps its history and answers `offersSuccessful: false`).
  double rate_offers_fail = 0;
  /// Probability that a request starts a 429 storm (see storm_length).
  double rate_429_storm = 0;
  /// Requests answered 429 in one storm (including the first).
  int storm_length = 8;
  /// How long the server holds a timed-out request before closing it.
  int64_t timeout_hold_ms = 30000;
  /// Q12: reject numeric strings in `selection` and unknown parameters.
  bool strict = false;
  /// Books' last updates at the start spread over this many minutes
  /// before it (the feed shows the last 12 h of them).
  int32_t initial_update_spread_min = 72 * 60;
  /// Unix ms the catalogue's "now" maps to; 0 = the first request's time.
  int64_t start_unix_ms = 0;
};

/// One HTTP request, already URL-decoded.
struct request {
  /// "GET" or "POST".
  std::string method;
  /// "/token", "/product", "/deal", "/seller".
  std::string path;
  std::multimap<std::string, std::string> query;
  /// POST /deal selection JSON.
  std::string body;
};

/// Transport-level faults the caller must realize.
enum class fault {
  none,
  /// Never answer (hold the request, bounded, then close).
  timeout,
  /// Close the connection without an answer.
  reset,
};

struct answer {
  int status = 200;
  /// JSON (possibly deliberately malformed/truncated), uncompressed.
  std::string body;
  fault transport = fault::none;
  /// How long the server should take before answering.
  int64_t latency_ms = 0;
  /// Tokens this request cost (also in the envelope when there is one).
  int64_t tokens_consumed = 0;
};

class model {
public:
  explicit model(options opts);
  ~model();
  model(const model&) = delete;
  model& operator=(const model&) = delete;

  /// Answers one request at `now_unix_ms`. Thread-compatible: callers
  /// serialize calls.
  answer handle(const request& req, int64_t now_unix_ms);

  // -- introspection for tests and benchmarks --------------------------------

  /// The balance after applying refills up to `now_unix_ms`.
  int64_t balance(int64_t now_unix_ms);

  /// Milliseconds until the next refill tick at `now_unix_ms`.
  int64_t refill_in(int64_t now_unix_ms);

  /// Whether the lockout floor currently locks the key.
  bool locked() const;

  /// Sets `tokenFlowReduction` from `now_unix_ms` on (refills up to then
  /// keep the previous value), as trackings added or removed would.
  void set_flow_reduction(double value, int64_t now_unix_ms);

  /// The `tokenFlowReduction` in force.
  double flow_reduction() const;

  /// Simulator truth: ASINs that are good deals under full analysis.
  std::vector<std::string> good_deal_asins() const;

  /// ASINs that pass the peek-style filter (superset of the good deals).
  std::vector<std::string> peek_pass_asins() const;

  /// What /deal showed of one book the last time it served the book.
  struct served_deal {
    std::string asin;
    /// The deal's lastUpdate as served, Keepa minutes.
    int64_t last_update = 0;
    /// Simulator truth at that moment: a good deal, and not updated since
    /// the (cached, up to 120 s old) result set showed it.
    bool good = false;
    /// The book has not been updated since it was served.
    bool unchanged = false;
  };

  /// Every book /deal served (answered 200), with its state at the last
  /// serving; `unchanged` is evaluated now. Lets tests ask "which good
  /// deals did the client see, and were they still the same afterwards".
  std::vector<served_deal> served_deals() const;

  /// The same for the catalogue of locale `domain` (amazon.com is 1);
  /// empty for a locale nobody asked /deal for.
  std::vector<served_deal> served_deals(int64_t domain) const;

  /// What the key's one bucket went through since the first request, as
  /// keepa-sim's /sim/stats reports it (tests of several clients on one
  /// key read the balance Keepa saw, not what the clients believe).
  struct bucket_stats {
    /// The balance now, after the refills due.
    int64_t balance = 0;
    /// Milliseconds to the next refill tick.
    int64_t refill_in_ms = 0;
    /// The balance at the first request.
    int64_t initial = 0;
    /// Tokens charged by answered requests, in all and per locale
    /// (`domain`, `domainId` of /deal; 0 where a request names none).
    int64_t charged = 0;
    std::map<int64_t, int64_t> charged_by_domain;
    /// Tokens the refill ticks added, and refill a full bucket lost.
    int64_t refilled = 0;
    int64_t lost_at_cap = 0;
    uint64_t ticks = 0;
    /// The lowest balance after a charge (or at the start), and when.
    int64_t min_balance = 0;
    int64_t min_balance_unix_ms = 0;
    /// 429 answers (NOT_ENOUGH_TOKEN, injected storms included), the first
    /// and the last (Unix ms, 0 if none).
    uint64_t refused = 0;
    int64_t first_refused_unix_ms = 0;
    int64_t last_refused_unix_ms = 0;
  };

  /// The bucket's figures at `now_unix_ms` (refills due are applied).
  bucket_stats stats(int64_t now_unix_ms);

  /// Computes the /deal result set of `selection` (the JSON a client
  /// posts) at `now_unix_ms` as Keepa would answer it (cached 120 s, at
  /// most 10 000 deals), without charging tokens or counting it as served,
  /// and remembers the good deals in it (see good_in_feed). A benchmark
  /// calls it every virtual minute to learn every good deal a client with
  /// that query could have seen. Returns an error text, "" if fine.
  std::string observe_feed(const std::string& selection, int64_t now_unix_ms);

  /// A good deal that appeared in the feed: the book and the lastUpdate
  /// (Keepa minutes) of a version that was good when /deal showed it.
  struct feed_deal {
    std::string asin;
    int64_t last_update = 0;
  };

  /// Every good version /deal served or observe_feed saw, by ASIN, then
  /// lastUpdate.
  std::vector<feed_deal> good_in_feed() const;

  /// Simulator truth now: `asin` is a good deal and has not been updated
  /// since `last_update` (Keepa minutes). For the benchmark's oracle.
  bool good_now(const std::string& asin, int64_t last_update) const;

  /// All catalogue ASINs in generation order.
  std::vector<std::string> asins() const;

  /// Writes good_deal_asins(), one per line.
  void export_truth(const std::string& path) const;

  const options& opts() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace keepa::sim
