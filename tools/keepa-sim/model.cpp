// keepa-sim's model: token bucket, request dispatch, costs, errors, faults.
// Open questions of ../shared/keepa-api.md §8 are marked "Qn" where the
// model picks the behaviour that is harder on the client.

#include "tools/keepa-sim/model.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <cstdio>
#include <functional>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "config/locale.hpp"
#include "tools/keepa-sim/detail.hpp"
#include "tools/keepa-sim/feed.hpp"
#include "tools/keepa-sim/finder.hpp"
#include "tools/keepa-sim/json.hpp"
#include "tools/keepa-sim/product_json.hpp"

namespace keepa::sim {

using detail::day_min;
using detail::n_types;

namespace {

constexpr int64_t minute_ms = 60000;
constexpr int64_t hour_ms = 60 * minute_ms;
constexpr int64_t keepa_epoch_minutes = 21564000;

bool valid_domain(int64_t d) {
  return (d >= 1 && d <= 12 && d != 7);
}

bool is_asin(const std::string& s) {
  if (s.size() != 10)
    return false;
  for (auto c : s)
    if (!(std::isdigit(static_cast<unsigned char>(c))
          || (c >= 'A' && c <= 'Z')))
      return false;
  return true;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (auto c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

/// Parses a whole decimal integer; false on anything else.
bool parse_int(const std::string& s, int64_t& out) {
  if (s.empty() || s.size() > 18)
    return false;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size())
    return false;
  int64_t v = 0;
  for (; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i])))
      return false;
    v = v * 10 + (s[i] - '0');
  }
  out = s[0] == '-' ? -v : v;
  return true;
}

/// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  auto era = (y >= 0 ? y : y - 399) / 400;
  auto yoe = y - era * 400;
  auto doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  auto doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/// Epoch ms or an ISO-8601 date (yyyy-mm-dd) for `stats=start,end`.
bool parse_time(const std::string& s, int64_t& ms) {
  if (parse_int(s, ms))
    return ms >= 0;
  int64_t y, m, d;
  if (s.size() < 10 || s[4] != '-' || s[7] != '-'
      || !parse_int(s.substr(0, 4), y) || !parse_int(s.substr(5, 2), m)
      || !parse_int(s.substr(8, 2), d) || m < 1 || m > 12 || d < 1 || d > 31)
    return false;
  ms = days_from_civil(y, m, d) * 86400000;
  return true;
}

/// ISBN-13 (978 prefix) to ISBN-10, empty when not convertible.
std::string isbn13_to_10(const std::string& code) {
  if (code.size() != 13 || code.compare(0, 3, "978") != 0)
    return {};
  int sum = 0;
  std::string out;
  for (int i = 0; i < 9; ++i) {
    auto c = code[3 + i];
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return {};
    sum += (i + 1) * (c - '0');
    out.push_back(c);
  }
  auto check = sum % 11;
  out.push_back(check == 10 ? 'X' : static_cast<char>('0' + check));
  return out;
}

using query_map = std::multimap<std::string, std::string>;

/// Reads parameter `name`: absent leaves `out` empty; otherwise it must be
/// a whole number in [lo, hi].
bool get_int(const query_map& q, const char* name, int64_t lo, int64_t hi,
             std::optional<int64_t>& out) {
  auto i = q.find(name);
  if (i == q.end())
    return true;
  int64_t v;
  if (!parse_int(i->second, v) || v < lo || v > hi)
    return false;
  out = v;
  return true;
}

/// A /product request, parsed.
struct product_query {
  int64_t domain = 0;
  /// The catalogue of `domain`; null for a locale keepa-sim does not carry.
  detail::catalogue* cat = nullptr;
  std::optional<int64_t> update;
  objects::product_view view;
  /// Catalogue index per identifier asked for; -1 = unknown product.
  std::vector<int> indices;
  /// The ASIN (or the code not carried) per identifier.
  std::vector<std::string> names;
};

/// What a /product request costs, and per product whether its offers came
/// from a recent fetch or failed.
struct product_fetch {
  std::vector<bool> offers_cached;
  std::vector<bool> offers_failed;
  int64_t cost = 0;
};

/// Reads /product's numeric parameters into `pq`: domain, update, and the
/// view's history, days, offers and 0/1 flags. Returns an error or "".
std::string parse_product_numbers(const query_map& q, product_query& pq) {
  std::optional<int64_t> domain, history, days, offers, live_only, rating,
    buybox, stock;
  if (q.find("domain") == q.end())
    return "missing domain";
  if (!get_int(q, "domain", 0, 99, domain) || !valid_domain(*domain))
    return "invalid domain";
  if (!get_int(q, "update", -1, 1000000, pq.update))
    return "invalid update";
  if (!get_int(q, "history", 0, 1, history))
    return "invalid history (0 or 1)";
  // days=0 is "no limit": the Java client's full product request sends
  // it, PHP's whenever days >= 0.
  if (!get_int(q, "days", 0, 100000, days))
    return "invalid days";
  // offers must be 20..100; offers=0 is rejected too (seed 001).
  if (!get_int(q, "offers", 20, 100, offers))
    return "invalid offers: must be between 20 and 100";
  if (!get_int(q, "only-live-offers", 0, 1, live_only)
      || !get_int(q, "rating", 0, 1, rating)
      || !get_int(q, "buybox", 0, 1, buybox)
      || !get_int(q, "stock", 0, 1, stock))
    return "invalid flag (0 or 1)";
  pq.domain = *domain;
  auto& view = pq.view;
  view.history = history.value_or(1) == 1;
  view.days = static_cast<int32_t>(days.value_or(0));
  view.offers = static_cast<int>(offers.value_or(0));
  view.live_only = live_only.value_or(0) == 1;
  view.rating = rating.value_or(0) == 1;
  view.buybox = buybox.value_or(0) == 1;
  view.stock = stock.value_or(0) == 1;
  return {};
}

} // namespace

// -- state --------------------------------------------------------------------

struct model::impl {
  options opts;
  detail::catalogue cat;
  // The bucket.
  bool started = false;
  int64_t origin_ms = 0;
  int64_t last_now = 0;
  int64_t balance = 0;
  int64_t next_tick = 0;
  bool locked = false;
  // Product updates.
  uint64_t next_update = 1;
  // Faults.
  detail::rng faults;
  int storm_left = 0;
  // /deal result sets (cached 120 s like Keepa's).
  feed::cache deal_cache;
  // The catalogues of the other locales, made on first use; all share the
  // one bucket.
  struct market {
    detail::catalogue cat;
    feed::cache deal_cache;
    uint64_t next_update = 1;
    // As `served` below, for this locale's books.
    std::unordered_map<int, std::pair<int32_t, bool>> served = {};
  };
  std::map<int64_t, std::unique_ptr<market>> markets;
  // Book index -> (lastUpdate relative minute as served, good then).
  std::unordered_map<int, std::pair<int32_t, bool>> served;
  // (book index, lastUpdate relative minute) of the good versions /deal
  // served or observe_feed saw: version_key.
  std::unordered_set<uint64_t> good_versions;
  // What the bucket went through (balance and refill_in filled on asking).
  bucket_stats counts;
  // The locale the request being answered names (for charged_by_domain).
  int64_t charging_domain = 0;

  static uint64_t version_key(int index, int32_t last_update) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(index)) << 32)
      | static_cast<uint32_t>(last_update);
  }

  /// Remembers row `r` of a result set if its book is good at that version.
  bool note_row(const feed::deal_row& r) {
    auto& b = cat.books[static_cast<size_t>(r.index)];
    auto good = b.good && b.last_update == r.last_update;
    if (good)
      good_versions.insert(version_key(r.index, r.last_update));
    return good;
  }

  /// Prices per US cent of the locales keepa-sim carries, by the currency
  /// of config/locale.hpp; 0 = not carried (its products are unknown, its
  /// feeds empty).
  static double price_level(int64_t domain) {
    auto l = locale_of(static_cast<int32_t>(domain));
    if (!l)
      return 0;
    if (l->currency == "USD")
      return 1.0;
    if (l->currency == "GBP")
      return 0.79;
    if (l->currency == "EUR")
      return 0.92;
    if (l->currency == "CAD")
      return 1.37;
    return 0;
  }

  /// The catalogue and the deal cache of `domain` (domain 1 is `cat`, the
  /// others are made at first use from their own seed); null for a locale
  /// keepa-sim does not carry.
  std::pair<detail::catalogue*, feed::cache*> market_of(int64_t domain) {
    if (domain == 1)
      return {&cat, &deal_cache};
    auto level = price_level(domain);
    if (level <= 0)
      return {nullptr, nullptr};
    auto& m = markets[domain];
    if (!m) {
      auto seed = detail::rng::mix(
        opts.seed ^ (0x10ca1e5ULL * static_cast<uint64_t>(domain)));
      m.reset(new market{
        detail::catalogue{seed, opts.products, opts.peek_pass_fraction,
                          opts.good_fraction, opts.initial_update_spread_min,
                          level},
        {},
        1});
      m->cat.root = detail::books_root(domain);
      advance(m->cat, m->next_update, last_now);
    }
    return {&m->cat, &m->deal_cache};
  }

  /// Applies the product updates of `c` due by `now` (update_rate a minute
  /// from the origin on).
  void advance(detail::catalogue& c, uint64_t& next, int64_t now) {
    if (opts.update_rate <= 0)
      return;
    auto interval = static_cast<int64_t>(minute_ms / opts.update_rate);
    interval = std::max<int64_t>(interval, 1);
    while (origin_ms + static_cast<int64_t>(next) * interval <= now) {
      auto t = origin_ms + static_cast<int64_t>(next) * interval;
      c.update(next, rel(t));
      ++next;
    }
  }

  /// The book index of `asin`, -1 if none.
  int index_of(const std::string& asin) const {
    auto i = cat.by_asin.find(asin);
    return i == cat.by_asin.end() ? -1 : i->second;
  }

  explicit impl(options o)
    : opts(std::move(o)),
      cat(opts.seed, opts.products, opts.peek_pass_fraction, opts.good_fraction,
          opts.initial_update_spread_min),
      faults(opts.seed, 0xfa017) {
    if (opts.refill_rate < 0)
      throw std::invalid_argument("refill_rate must be >= 0");
    if (opts.products < 0)
      throw std::invalid_argument("products must be >= 0");
    if (!(opts.flow_reduction >= 0))
      throw std::invalid_argument("flow_reduction must be >= 0");
    for (size_t i = 0; i < opts.flow_schedule.size(); ++i)
      if (!(opts.flow_schedule[i].second >= 0)
          || opts.flow_schedule[i].first < 0
          || (i > 0
              && opts.flow_schedule[i].first < opts.flow_schedule[i - 1].first))
        throw std::invalid_argument(
          "flow_schedule: times >= 0 in order, values >= 0");
  }

  /// The tokenFlowReduction in force and the next flow_schedule entry.
  double flow = 0;
  size_t flow_next = 0;
  /// Unix ms the model started (flow_schedule counts from it).
  int64_t start_ms = 0;

  /// Tokens a tick adds: the plan's rate less the reduction rounded up
  /// (Q9, the harder way), at least 0.
  int64_t net_rate() const {
    auto cut = static_cast<int64_t>(std::ceil(std::max(flow, 0.0) - 1e-9));
    return std::max<int64_t>(opts.refill_rate - cut, 0);
  }

  int64_t cap() const {
    return 60 * net_rate();
  }

  /// Applies the refill ticks due at or before `until`.
  void tick_until(int64_t until) {
    if (until < next_tick)
      return;
    auto ticks = (until - next_tick) / minute_ms + 1;
    next_tick += ticks * minute_ms;
    // Q2: a hard cap at 60 x rate; a balance above the cap (a large
    // --sim.initial-tokens, a raised reduction) is not cut, it only stops
    // growing.
    auto rate = net_rate();
    // (ticks > cap() only guards the product against overflow.)
    auto due = rate == 0 ? 0 : ticks > cap() ? cap() : ticks * rate;
    auto add = balance < cap() ? std::min(due, cap() - balance) : 0;
    balance += add;
    counts.refilled += add;
    counts.lost_at_cap += due - add;
    counts.ticks += static_cast<uint64_t>(ticks);
    if (locked && balance > 0)
      locked = false;
  }

  int32_t rel(int64_t ms) const {
    return static_cast<int32_t>(
      (ms - origin_ms) / minute_ms
      - (ms < origin_ms && (ms - origin_ms) % minute_ms ? 1 : 0));
  }

  int64_t origin_km() const {
    return origin_ms / minute_ms - keepa_epoch_minutes;
  }

  /// Brings the bucket and the catalogue up to `now`; returns the
  /// effective time (never earlier than a previous call's).
  int64_t sync(int64_t now) {
    if (!started) {
      started = true;
      auto start = opts.start_unix_ms > 0 ? opts.start_unix_ms : now;
      origin_ms = start - start % minute_ms;
      last_now = now;
      start_ms = start;
      flow = opts.flow_reduction;
      balance = opts.initial_tokens == -1 ? cap() : opts.initial_tokens;
      counts.initial = counts.min_balance = balance;
      counts.min_balance_unix_ms = now;
      // Q1: ticks once per minute at a per-key phase drawn from the seed.
      detail::rng phase{opts.seed, std::hash<std::string>{}(opts.key)};
      next_tick = now + phase.range(1, minute_ms);
    }
    now = std::max(now, last_now);
    last_now = now;
    // Ticks before a scheduled change add the old net rate.
    auto& plan = opts.flow_schedule;
    while (flow_next < plan.size() && start_ms + plan[flow_next].first <= now) {
      tick_until(start_ms + plan[flow_next].first - 1);
      flow = plan[flow_next].second;
      ++flow_next;
    }
    tick_until(now);
    advance(cat, next_update, now);
    for (auto& [domain, m] : markets)
      advance(m->cat, m->next_update, now);
    return now;
  }

  // -- envelope ---------------------------------------------------------------

  void envelope(json::writer& w, int64_t now, int64_t consumed,
                bool known_key) {
    w.key("timestamp").num(now);
    w.key("tokensLeft").num(known_key ? balance : 0);
    w.key("refillIn").num(known_key ? next_tick - now : 0);
    // Q9: refillRate is the plan's gross rate; the refill is net of
    // tokenFlowReduction (net_rate).
    w.key("refillRate").num(known_key ? opts.refill_rate : 0);
    w.key("tokenFlowReduction").dbl(known_key ? flow : 0.0);
    w.key("tokensConsumed").num(consumed);
    w.key("processingTimeInMs").num(opts.latency_ms);
  }

  answer error(int64_t now, int status, const std::string& type,
               const std::string& message, bool known_key) {
    answer a;
    a.status = status;
    json::writer w;
    w.begin_object();
    envelope(w, now, 0, known_key);
    w.key("error").begin_object();
    w.key("type").str(type);
    w.key("message").str(message);
    w.key("details").str(message);
    w.end_object();
    w.end_object();
    a.body = w.take();
    return a;
  }

  answer not_enough(int64_t now, const std::string& why) {
    if (counts.refused++ == 0)
      counts.first_refused_unix_ms = now;
    counts.last_refused_unix_ms = now;
    return error(now, 429, "NOT_ENOUGH_TOKEN", why, true);
  }

  // -- faults -----------------------------------------------------------------

  enum class injected {
    none,
    e5xx,
    timeout,
    reset,
    malformed,
    truncated,
    storm
  };

  /// The fault of the next request (one draw per request).
  injected draw_fault();

  /// Realizes fault `f` on a 200 answer; sets the latency.
  answer inject(answer a, injected f);

  // -- endpoints --------------------------------------------------------------

  answer handle(const request& req, int64_t now);
  /// Path, method and key checks, injected errors, the balance; then the
  /// endpoint.
  answer route(const request& req, int64_t now, injected f);
  answer token(const request& req, int64_t now);
  answer product(const request& req, int64_t now);
  answer deal(const request& req, int64_t now);
  answer seller(const request& req, int64_t now);
  answer query(const request& req, int64_t now);
  answer category(const request& req, int64_t now);
  /// Q12: with --sim.strict, the first parameter not in `known`; else "".
  std::string unknown_parameter(const query_map& q,
                                std::initializer_list<const char*> known) const;
  /// `domain=` of a request: a valid domain id, else 0.
  int64_t domain_param(const query_map& q) const;
  /// The selection of /deal and /query: the POST body, else `selection=`.
  static std::string selection_text(const request& req);

  // -- /product ---------------------------------------------------------------

  /// Parses a /product request; returns an error or "".
  std::string parse_product(const request& req, int64_t now, product_query& pq);
  /// `stats=N` (days) or `stats=start,end` (epoch ms or yyyy-mm-dd).
  bool parse_stats(const std::string& s, int64_t now,
                   objects::product_view& view) const;
  /// `asin=` or `code=` into catalogue indices; returns an error or "".
  std::string parse_product_ids(const query_map& q, product_query& pq) const;
  /// When the data of a book was last collected, Unix ms.
  int64_t data_ms(const detail::book& b) const;
  /// The cost of a /product request (§2.1); draws the offer-fetch faults.
  product_fetch product_cost(const product_query& pq, int64_t now);
  /// The cost of one product's offers; `cached` when a fetch fresher than
  /// `update` hours answers.
  int64_t offers_cost(int index, const product_query& pq, int64_t now,
                      bool& cached) const;
  /// Marks the products refreshed and their offers fetched.
  void note_fetched(const product_query& pq, const product_fetch& f,
                    int64_t now);
  answer charge_and_write(int64_t now, int64_t cost,
                          const std::function<void(json::writer&)>& payload,
                          const std::function<void()>& commit);
};

answer
model::impl::charge_and_write(int64_t now, int64_t cost,
                              const std::function<void(json::writer&)>& payload,
                              const std::function<void()>& commit) {
  // Q10: the optional lockout floor refuses the request, charges nothing
  // and locks the key until a refill tick leaves the balance positive.
  if (opts.lockout_floor && cost > 0 && balance - cost < *opts.lockout_floor) {
    locked = true;
    return not_enough(now,
                      "request would take the balance below the "
                      "lockout floor; key locked");
  }
  balance -= cost;
  counts.charged += cost;
  if (cost != 0)
    counts.charged_by_domain[charging_domain] += cost;
  if (balance < counts.min_balance) {
    counts.min_balance = balance;
    counts.min_balance_unix_ms = now;
  }
  if (commit)
    commit();
  answer a;
  a.tokens_consumed = cost;
  json::writer w;
  w.begin_object();
  envelope(w, now, cost, true);
  payload(w);
  w.end_object();
  a.body = w.take();
  return a;
}

// -- dispatch -----------------------------------------------------------------

model::impl::injected model::impl::draw_fault() {
  // One draw per request decides its fault, so a seed replays exactly.
  auto u = faults.uniform();
  if (storm_left > 0) {
    --storm_left;
    return injected::storm;
  }
  double acc = 0;
  auto hit = [&](double rate) {
    acc += std::max(rate, 0.0);
    return u < acc;
  };
  if (hit(opts.rate_5xx))
    return injected::e5xx;
  if (hit(opts.rate_timeout))
    return injected::timeout;
  if (hit(opts.rate_reset))
    return injected::reset;
  if (hit(opts.rate_malformed))
    return injected::malformed;
  if (hit(opts.rate_truncated))
    return injected::truncated;
  if (hit(opts.rate_429_storm)) {
    storm_left = std::max(opts.storm_length, 1) - 1;
    return injected::storm;
  }
  return injected::none;
}

answer model::impl::inject(answer a, injected f) {
  a.latency_ms = opts.latency_ms;
  if (a.status != 200)
    return a;
  detail::rng r{opts.seed, 0xb0d7, faults.next()};
  switch (f) {
    case injected::timeout:
      a.transport = fault::timeout;
      a.latency_ms = opts.timeout_hold_ms;
      a.body.clear();
      break;
    case injected::reset:
      a.transport = fault::reset;
      a.body.clear();
      break;
    case injected::malformed: {
      // A control character is invalid anywhere in JSON text.
      auto pos = static_cast<size_t>(
        r.range(1, static_cast<int64_t>(a.body.size()) - 1));
      a.body.insert(pos, "\x01{]");
      break;
    }
    case injected::truncated:
      a.body.resize(static_cast<size_t>(
        r.range(1, static_cast<int64_t>(a.body.size()) - 2)));
      break;
    default: break;
  }
  return a;
}

answer model::impl::handle(const request& req, int64_t now) {
  now = sync(now);
  auto f = draw_fault();
  return inject(route(req, now, f), f);
}

answer model::impl::route(const request& req, int64_t now, injected f) {
  // api.keepa.com serves every path with and without a trailing slash: the
  // PHP and Python clients ask "/token/?key=...", the Java one "/token?...".
  auto p = req.path;
  if (p.size() > 1 && p.back() == '/')
    p.pop_back();
  static const char* const paths[] = {"/token",  "/product", "/deal",
                                      "/seller", "/query",   "/category"};
  if (std::find(std::begin(paths), std::end(paths), p) == std::end(paths)) {
    auto k = req.query.find("key");
    bool known = k != req.query.end() && k->second == opts.key;
    return error(now, 404, "NOT_FOUND", "unknown path", known);
  }
  // GET everywhere; POST (the selection as the body) where Keepa documents
  // it: /deal and /query.
  bool post_ok = p == "/deal" || p == "/query";
  if (req.method != "GET" && !(req.method == "POST" && post_ok))
    return error(now, 405, "METHOD_NOT_ALLOWED", "method not allowed for " + p,
                 false);
  // A missing or unknown key is 402 PAYMENT_REQUIRED: the brief's status
  // table maps "no active plan/key" there. The envelope then describes no
  // bucket (all zeros), so a client must not learn token state from it.
  auto k = req.query.find("key");
  if (k == req.query.end() || k->second.empty())
    return error(now, 402, "PAYMENT_REQUIRED", "missing key", false);
  if (k->second != opts.key || req.query.count("key") > 1)
    return error(now, 402, "PAYMENT_REQUIRED", "invalid key", false);
  if (f == injected::e5xx)
    return error(now, 500, "INTERNAL_SERVER_ERROR", "injected server error",
                 true);
  if (f == injected::storm)
    return not_enough(now, "injected 429 storm");
  if (p == "/token")
    return token(req, now);
  charging_domain = domain_param(req.query);
  if (locked)
    return not_enough(now, "key locked (lockout floor)");
  // Q4: zero is not positive, so a balance of exactly 0 gets 429. Q3: a
  // 429 costs nothing.
  if (balance <= 0)
    return not_enough(now, "not enough tokens");
  if (p == "/product")
    return product(req, now);
  if (p == "/deal")
    return deal(req, now);
  if (p == "/query")
    return query(req, now);
  if (p == "/category")
    return category(req, now);
  return seller(req, now);
}

// -- /token -------------------------------------------------------------------

answer model::impl::token(const request& req, int64_t now) {
  // /token is free and answers 200 even when the balance is negative
  // (Q11: it never answers 429 unless a storm is injected).
  if (opts.strict)
    for (auto& [name, value] : req.query)
      if (name != "key")
        return error(now, 400, "REQUEST_REJECTED", "unknown parameter " + name,
                     true);
  return charge_and_write(
    now, 0, [](json::writer&) {}, nullptr);
}

// -- /product -----------------------------------------------------------------

answer model::impl::product(const request& req, int64_t now) {
  product_query pq;
  if (auto err = parse_product(req, now, pq); !err.empty())
    return error(now, 400, "REQUEST_REJECTED", err, true);
  auto fetch = product_cost(pq, now);
  return charge_and_write(
    now, fetch.cost,
    [&](json::writer& w) {
      w.key("products").begin_array();
      for (size_t j = 0; j < pq.indices.size(); ++j)
        objects::write_product(w, pq.cat ? *pq.cat : cat, pq.indices[j],
                               pq.names[j], static_cast<int>(pq.domain),
                               pq.view, fetch.offers_failed[j]);
      w.end_array();
    },
    [&] { note_fetched(pq, fetch, now); });
}

std::string model::impl::parse_product(const request& req, int64_t now,
                                       product_query& pq) {
  const auto& q = req.query;
  static const char* const known[] = {"key",     "domain",
                                      "asin",    "code",
                                      "stats",   "update",
                                      "history", "days",
                                      "offers",  "only-live-offers",
                                      "rating",  "buybox",
                                      "stock",   "code-limit",
                                      "rental",  "videos",
                                      "aplus",   "historical-variations",
                                      "fbafees"};
  // Q12: lenient by default (Keepa evidently ignored `only_live_offers`);
  // --sim.strict rejects unknown parameters.
  if (opts.strict)
    for (auto& [name, value] : q)
      if (std::find(std::begin(known), std::end(known), name)
          == std::end(known))
        return "unknown parameter " + name;
  if (auto err = parse_product_numbers(q, pq); !err.empty())
    return err;
  pq.cat = market_of(pq.domain).first;
  pq.view.root = pq.cat ? pq.cat->root : detail::books_category;
  pq.view.origin_km = origin_km();
  pq.view.now_rel = rel(now);
  pq.view.now_ms = now;
  if (auto s = q.find("stats"); s != q.end())
    if (!parse_stats(s->second, now, pq.view))
      return "invalid stats";
  return parse_product_ids(q, pq);
}

bool model::impl::parse_stats(const std::string& s, int64_t now,
                              objects::product_view& view) const {
  // N days, or start,end.
  auto parts = split(s, ',');
  int64_t a = 0, b = 0;
  if (parts.size() == 1 && parse_int(parts[0], a) && a > 0) {
    view.stats = true;
    view.stats_from = view.now_rel
      - static_cast<int32_t>(std::min<int64_t>(a, 100000) * day_min);
    view.stats_to = view.now_rel;
    return true;
  }
  if (parts.size() == 2 && parse_time(parts[0], a) && parse_time(parts[1], b)
      && a <= b) {
    view.stats = true;
    auto oldest = origin_ms - int64_t{20} * 365 * 86400000;
    view.stats_from = rel(std::max(a, oldest));
    view.stats_to = rel(std::min(b, now));
    return true;
  }
  return false;
}

std::string model::impl::parse_product_ids(const query_map& q,
                                           product_query& pq) const {
  // Identifiers: asin or code, never both, up to 100.
  auto asin = q.find("asin");
  auto code = q.find("code");
  bool by_code = code != q.end();
  if ((asin != q.end()) == by_code)
    return "exactly one of asin and code is required";
  auto ids = split(by_code ? code->second : asin->second, ',');
  if (ids.size() > 100)
    return "too many products requested (max 100)";
  for (auto& id : ids) {
    std::string a = id;
    if (by_code) {
      if (id.empty() || id.size() > 14)
        return "malformed code " + id;
      a = isbn13_to_10(id);
      if (a.empty()) {
        // A well-formed code we do not carry: unknown product.
        for (auto c : id)
          if (!std::isdigit(static_cast<unsigned char>(c)))
            return "malformed code " + id;
        pq.indices.push_back(-1);
        pq.names.push_back(id);
        continue;
      }
    } else if (!is_asin(id)) {
      // Lowercase or short ASINs are rejected, not corrected.
      return "malformed ASIN " + id;
    }
    // Each locale carries its own books; a locale keepa-sim does not
    // carry knows none.
    int index = -1;
    if (pq.cat)
      if (auto i = pq.cat->by_asin.find(a); i != pq.cat->by_asin.end())
        index = i->second;
    pq.indices.push_back(index);
    pq.names.push_back(a);
  }
  return {};
}

int64_t model::impl::data_ms(const detail::book& b) const {
  return std::max(origin_ms + int64_t{b.last_update} * minute_ms,
                  b.refreshed_ms);
}

product_fetch model::impl::product_cost(const product_query& pq, int64_t now) {
  auto n = pq.indices.size();
  product_fetch f{std::vector<bool>(n, false), std::vector<bool>(n, false), 0};
  for (size_t j = 0; j < n; ++j) {
    auto i = pq.indices[j];
    if (i < 0) {
      // Q8: an unknown ASIN costs 1 unless update=-1.
      f.cost += pq.update && *pq.update == -1 ? 0 : 1;
      continue;
    }
    auto& b = pq.cat->books[static_cast<size_t>(i)];
    auto age = now - data_ms(b);
    auto& view = pq.view;
    if (view.offers > 0 && opts.rate_offers_fail > 0
        && faults.uniform() < opts.rate_offers_fail) {
      // The offer fetch failed: 1 token, history still returned.
      f.offers_failed[j] = true;
      f.cost += 1;
    } else if (view.offers > 0) {
      bool cached = false;
      f.cost += offers_cost(i, pq, now, cached);
      f.offers_cached[j] = cached;
      if (view.stock && age < 7 * 24 * hour_ms)
        f.cost += 2;
    } else {
      f.cost += view.buybox ? 3 : 1;
    }
    if (pq.update && *pq.update == 0 && age < hour_ms)
      f.cost += 1;
    // Q8: rating's token is charged with offers too.
    auto fresh = [&](int type) {
      return !b.csv.empty(type)
        && b.csv.last_time(type) >= view.now_rel - 14 * day_min;
    };
    if (view.rating && fresh(16) && fresh(17))
      f.cost += 1;
  }
  return f;
}

int64_t model::impl::offers_cost(int index, const product_query& pq,
                                 int64_t now, bool& cached) const {
  auto& b = pq.cat->books[static_cast<size_t>(index)];
  if (pq.update && *pq.update > 0 && b.offers_fetched_ms > 0
      && now - b.offers_fetched_ms < *pq.update * hour_ms) {
    cached = true;
    return 5;
  }
  auto total = static_cast<int>(pq.cat->offers_of(index).size());
  auto found = std::min(total, pq.view.offers);
  // Q8: a product with no offers still costs one page (6).
  return 6 * std::max(1, (found + 9) / 10);
}

void model::impl::note_fetched(const product_query& pq, const product_fetch& f,
                               int64_t now) {
  for (size_t j = 0; j < pq.indices.size(); ++j) {
    auto i = pq.indices[j];
    if (i < 0)
      continue;
    auto& b = pq.cat->books[static_cast<size_t>(i)];
    auto h = pq.update.value_or(1);
    if (h >= 0 && now - data_ms(b) > h * hour_ms)
      b.refreshed_ms = now;
    if (pq.view.offers > 0 && !f.offers_cached[j] && !f.offers_failed[j])
      b.offers_fetched_ms = now;
  }
}

// -- /deal --------------------------------------------------------------------

answer model::impl::deal(const request& req, int64_t now) {
  auto reject = [&](const std::string& msg) {
    return error(now, 400, "REQUEST_REJECTED", msg, true);
  };
  const auto& q = req.query;
  if (auto err = unknown_parameter(q, {"key", "selection", "domain"});
      !err.empty())
    return reject(err);
  auto text = selection_text(req);
  if (text.empty())
    return reject("missing selection");
  feed::selection sel;
  std::string key;
  if (auto err = feed::parse_selection(text, opts.strict, sel, key);
      !err.empty())
    return reject("invalid selection: " + err);
  charging_domain = sel.domain;
  auto [books, sets] = market_of(sel.domain);
  if (!books) {
    // A locale keepa-sim does not carry: no deals.
    static const detail::catalogue none{0, 0, 0, 0};
    static const feed::result_set empty;
    return charge_and_write(
      now, 5, [&](json::writer& w) { feed::write_page(w, none, empty, sel); },
      nullptr);
  }
  auto& set = sets->get(*books, key, sel, now, rel(now), origin_km());
  auto total = static_cast<int64_t>(set.rows.size());
  auto first = sel.page * feed::page_size;
  auto last = std::min(total, (sel.page + 1) * feed::page_size);
  if (sel.domain != 1)
    return charge_and_write(
      now, 5, [&](json::writer& w) { feed::write_page(w, *books, set, sel); },
      [&] {
        // Each locale's served books, for tests of several locales.
        auto& served_here = markets[sel.domain]->served;
        for (auto i = first; i < last; ++i) {
          auto& r = *set.rows[static_cast<size_t>(i)];
          auto& b = books->books[static_cast<size_t>(r.index)];
          served_here[r.index] = {r.last_update,
                                  b.good && b.last_update == r.last_update};
        }
      });
  return charge_and_write(
    now, 5, [&](json::writer& w) { feed::write_page(w, cat, set, sel); },
    [&] {
      // What the tests' and benchmarks' truth reads: amazon.com only.
      for (auto i = first; i < last; ++i) {
        auto& r = *set.rows[static_cast<size_t>(i)];
        served[r.index] = {r.last_update, note_row(r)};
      }
    });
}

std::string model::impl::selection_text(const request& req) {
  auto s = req.query.find("selection");
  if (req.method == "POST" && !req.body.empty())
    return req.body;
  return s != req.query.end() ? s->second : std::string{};
}

std::string
model::impl::unknown_parameter(const query_map& q,
                               std::initializer_list<const char*> known) const {
  if (!opts.strict)
    return {};
  for (auto& [name, value] : q)
    if (std::none_of(known.begin(), known.end(),
                     [&](const char* k) { return name == k; }))
      return "unknown parameter " + name;
  return {};
}

int64_t model::impl::domain_param(const query_map& q) const {
  auto d = q.find("domain");
  int64_t domain = 0;
  if (d == q.end() || !parse_int(d->second, domain) || !valid_domain(domain))
    return 0;
  return domain;
}

// -- /query -------------------------------------------------------------------

answer model::impl::query(const request& req, int64_t now) {
  auto reject = [&](const std::string& msg) {
    return error(now, 400, "REQUEST_REJECTED", msg, true);
  };
  const auto& q = req.query;
  if (auto err = unknown_parameter(q, {"key", "domain", "selection", "stats"});
      !err.empty())
    return reject(err);
  auto domain = domain_param(q);
  if (domain == 0)
    return reject("missing or invalid domain");
  auto text = selection_text(req);
  if (text.empty())
    return reject("missing selection");
  finder::query fq;
  if (auto err = finder::parse(text, opts.strict, fq); !err.empty())
    return reject("invalid selection: " + err);
  auto* books = market_of(domain).first;
  std::vector<int> matches;
  if (books)
    matches = finder::run(*books, fq, rel(now), origin_km());
  auto first = std::min<int64_t>(fq.page * fq.per_page,
                                 static_cast<int64_t>(matches.size()));
  auto last = std::min<int64_t>(first + fq.per_page,
                                static_cast<int64_t>(matches.size()));
  // DOC: 10 + 1 per 100 ASINs of the list answered (a started hundred
  // counts).
  auto cost = 10 + (last - first + 99) / 100;
  return charge_and_write(
    now, cost,
    [&](json::writer& w) {
      w.key("asinList").begin_array();
      for (auto i = first; i < last; ++i)
        w.str(books->books[static_cast<size_t>(matches[static_cast<size_t>(i)])]
                .asin);
      w.end_array();
      w.key("totalResults").num(static_cast<int64_t>(matches.size()));
    },
    nullptr);
}

// -- /category ----------------------------------------------------------------

answer model::impl::category(const request& req, int64_t now) {
  auto reject = [&](const std::string& msg) {
    return error(now, 400, "REQUEST_REJECTED", msg, true);
  };
  const auto& q = req.query;
  if (auto err = unknown_parameter(q, {"key", "domain", "category", "parents"});
      !err.empty())
    return reject(err);
  auto domain = domain_param(q);
  if (domain == 0)
    return reject("missing or invalid domain");
  auto c = q.find("category");
  if (c == q.end() || c->second.empty())
    return reject("missing category");
  std::vector<int64_t> ids;
  for (auto& part : split(c->second, ',')) {
    int64_t id = 0;
    if (!parse_int(part, id) || id < 0)
      return reject("invalid category " + part);
    ids.push_back(id);
  }
  // DOC: up to 10 ids a request, for the price of one.
  if (ids.size() > 10)
    return reject("too many categories requested (max 10)");
  int64_t parents = 0;
  if (auto p = q.find("parents"); p != q.end())
    if (!parse_int(p->second, parents) || parents < 0 || parents > 1)
      return reject("invalid parents (0 or 1)");
  auto* books = market_of(domain).first;
  static const detail::catalogue none{0, 0, 0, 0};
  return charge_and_write(
    now, 1,
    [&](json::writer& w) {
      finder::write_categories(w, books ? *books : none,
                               static_cast<int>(domain),
                               books ? ids : std::vector<int64_t>{},
                               parents == 1);
    },
    nullptr);
}

// -- /seller ------------------------------------------------------------------

answer model::impl::seller(const request& req, int64_t now) {
  auto reject = [&](const std::string& msg) {
    return error(now, 400, "REQUEST_REJECTED", msg, true);
  };
  const auto& q = req.query;
  if (auto err = unknown_parameter(
        q, {"key", "domain", "seller", "storefront", "update"});
      !err.empty())
    return reject(err);
  auto domain = domain_param(q);
  if (domain == 0)
    return reject("missing or invalid domain");
  auto s = q.find("seller");
  if (s == q.end() || s->second.empty())
    return reject("missing seller");
  auto ids = split(s->second, ',');
  if (ids.size() > 100)
    return reject("too many sellers requested (max 100)");
  int64_t storefront = 0;
  if (auto sf = q.find("storefront"); sf != q.end())
    if (!parse_int(sf->second, storefront) || storefront < 0 || storefront > 1)
      return reject("invalid storefront");
  if (storefront == 1 && ids.size() > 1)
    return reject("storefront is not allowed for batch requests");
  std::vector<int> found;
  std::vector<std::string> invalid;
  auto* books = market_of(domain).first;
  for (auto& id : ids) {
    bool ok = id.size() >= 10 && id.size() <= 20;
    for (auto c : id)
      ok = ok
        && (std::isdigit(static_cast<unsigned char>(c))
            || (c >= 'A' && c <= 'Z'));
    if (!ok) {
      invalid.push_back(id);
      continue;
    }
    if (!books)
      continue;
    auto i = books->seller_index.find(id);
    if (i != books->seller_index.end())
      found.push_back(i->second);
  }
  auto cost = static_cast<int64_t>(found.size());
  return charge_and_write(
    now, cost,
    [&](json::writer& w) {
      w.key("sellers").begin_object();
      for (auto i : found)
        objects::write_seller(w, *books, i, static_cast<int>(domain),
                              storefront == 1, rel(now), origin_km());
      w.end_object();
      if (!invalid.empty()) {
        std::string msg = "invalid seller id";
        for (auto& id : invalid)
          msg += " " + id;
        w.key("error").begin_object();
        w.key("type").str("INVALID_SELLER_ID");
        w.key("message").str(msg);
        w.key("details").str(msg);
        w.end_object();
      }
    },
    nullptr);
}

// -- model --------------------------------------------------------------------

model::model(options opts) : impl_(std::make_unique<impl>(std::move(opts))) {
  // nop
}

model::~model() = default;

answer model::handle(const request& req, int64_t now_unix_ms) {
  return impl_->handle(req, now_unix_ms);
}

int64_t model::balance(int64_t now_unix_ms) {
  impl_->sync(now_unix_ms);
  return impl_->balance;
}

int64_t model::refill_in(int64_t now_unix_ms) {
  auto now = impl_->sync(now_unix_ms);
  return impl_->next_tick - now;
}

bool model::locked() const {
  return impl_->locked;
}

void model::set_flow_reduction(double value, int64_t now_unix_ms) {
  impl_->sync(now_unix_ms);
  impl_->flow = value;
}

double model::flow_reduction() const {
  return impl_->flow;
}

std::vector<std::string> model::good_deal_asins() const {
  std::vector<std::string> out;
  for (auto& b : impl_->cat.books)
    if (b.good)
      out.push_back(b.asin);
  return out;
}

std::vector<std::string> model::peek_pass_asins() const {
  std::vector<std::string> out;
  for (auto& b : impl_->cat.books)
    if (b.peek_pass)
      out.push_back(b.asin);
  return out;
}

std::vector<model::served_deal> model::served_deals() const {
  return served_deals(1);
}

std::vector<model::served_deal> model::served_deals(int64_t domain) const {
  auto* served = &impl_->served;
  auto* books = &impl_->cat;
  if (domain != 1) {
    auto m = impl_->markets.find(domain);
    if (m == impl_->markets.end())
      return {};
    served = &m->second->served;
    books = &m->second->cat;
  }
  std::vector<served_deal> out;
  out.reserve(served->size());
  for (auto& [index, seen] : *served) {
    auto& b = books->books[static_cast<size_t>(index)];
    out.push_back({b.asin, impl_->origin_km() + seen.first, seen.second,
                   b.last_update == seen.first});
  }
  std::sort(out.begin(), out.end(),
            [](const served_deal& x, const served_deal& y) {
              return x.asin < y.asin;
            });
  return out;
}

std::string model::observe_feed(const std::string& selection,
                                int64_t now_unix_ms) {
  auto& m = *impl_;
  auto now = m.sync(now_unix_ms);
  feed::selection sel;
  std::string key;
  if (auto err = feed::parse_selection(selection, false, sel, key);
      !err.empty())
    return "invalid selection: " + err;
  // The truth is amazon.com's (domain 1) only.
  if (sel.domain != 1)
    return {};
  // A cache entry of its own: what clients get stays as it would be.
  auto& set = m.deal_cache.get(m.cat, "observe:" + key, sel, now, m.rel(now),
                               m.origin_km());
  for (auto& r : set.rows)
    m.note_row(*r);
  return {};
}

std::vector<model::feed_deal> model::good_in_feed() const {
  std::vector<feed_deal> out;
  out.reserve(impl_->good_versions.size());
  for (auto key : impl_->good_versions) {
    auto index = static_cast<size_t>(key >> 32);
    auto rel = static_cast<int32_t>(static_cast<uint32_t>(key));
    out.push_back({impl_->cat.books[index].asin, impl_->origin_km() + rel});
  }
  std::sort(out.begin(), out.end(), [](const feed_deal& x, const feed_deal& y) {
    return x.asin != y.asin ? x.asin < y.asin : x.last_update < y.last_update;
  });
  return out;
}

bool model::good_now(const std::string& asin, int64_t last_update) const {
  auto index = impl_->index_of(asin);
  if (index < 0)
    return false;
  auto& b = impl_->cat.books[static_cast<size_t>(index)];
  return b.good && impl_->origin_km() + b.last_update == last_update;
}

std::vector<std::string> model::asins() const {
  std::vector<std::string> out;
  for (auto& b : impl_->cat.books)
    out.push_back(b.asin);
  return out;
}

void model::export_truth(const std::string& path) const {
  auto tmp = path + ".tmp";
  {
    std::ofstream out{tmp, std::ios::trunc};
    if (!out)
      throw std::runtime_error("cannot write " + tmp);
    for (auto& a : good_deal_asins())
      out << a << '\n';
    if (!out.flush())
      throw std::runtime_error("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::runtime_error("cannot rename " + tmp + " to " + path);
}

model::bucket_stats model::stats(int64_t now_unix_ms) {
  auto now = impl_->sync(now_unix_ms);
  auto result = impl_->counts;
  result.balance = impl_->balance;
  result.refill_in_ms = impl_->next_tick - now;
  return result;
}

const options& model::opts() const {
  return impl_->opts;
}

} // namespace keepa::sim
