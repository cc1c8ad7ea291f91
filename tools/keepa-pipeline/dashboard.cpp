#include "tools/keepa-pipeline/dashboard.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include <httplib.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "config/locale.hpp"
#include "messages/error.hpp"
#include "messages/keepa.hpp"
#include "storage/soci_backend.hpp"
#include "tools/keepa-pipeline/web_assets.hpp"

namespace keepa {

namespace {

using writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr stage all_stages[] = {stage::commit, stage::peek, stage::scan,
                                stage::update};

/// The window of the rates per hour.
constexpr auto rate_window = std::chrono::hours{1};

/// Queue entries /api/summary lists (the rest is counted).
constexpr size_t max_listed_waits = 10;

double seconds(caf::timespan x) {
  return std::chrono::duration<double>(x).count();
}

void key(writer& w, const char* name) {
  w.Key(name);
}

void text(writer& w, std::string_view x) {
  w.String(x.data(), static_cast<rapidjson::SizeType>(x.size()));
}

/// `x`, or null for an empty string (a deal of a locale we do not know).
void text_or_null(writer& w, const std::string& x) {
  if (x.empty())
    w.Null();
  else
    text(w, x);
}

void maybe(writer& w, const std::optional<double>& x) {
  if (x)
    w.Double(*x);
  else
    w.Null();
}

/// A count in cents or ranks that the record marks unknown with a
/// negative value.
void known(writer& w, int64_t x) {
  if (x < 0)
    w.Null();
  else
    w.Int64(x);
}

int64_t spent_by(const token_totals& t, stage s) {
  auto i = static_cast<size_t>(s);
  return i < t.consumed_by_stage.size() ? t.consumed_by_stage[i] : 0;
}

/// The stage counters as the dashboard lists them, with their values in
/// `d`.
struct counter {
  const char* name;
  int64_t deal_counts::*value;
};

constexpr counter counters[] = {
  {"scanned", &deal_counts::scanned},
  {"pre_rejected", &deal_counts::pre_rejected},
  {"peeked", &deal_counts::peeked},
  {"committed", &deal_counts::committed},
  {"rejected", &deal_counts::rejected},
  {"updated", &deal_counts::updated},
};

std::string done(rapidjson::StringBuffer& buf) {
  return {buf.GetString(), buf.GetSize()};
}

std::string error_json(const std::string& what) {
  rapidjson::StringBuffer buf;
  writer w{buf};
  w.StartObject();
  key(w, "error");
  text(w, what);
  w.EndObject();
  return done(buf);
}

/// A whole number in [lo, hi] from `x`, or an error naming `name`.
caf::expected<int64_t> whole(const std::string& name, const std::string& x,
                             int64_t lo, int64_t hi) {
  errno = 0;
  char* end = nullptr;
  auto n = std::strtoll(x.c_str(), &end, 10);
  if (x.empty() || end != x.c_str() + x.size() || errno != 0 || n < lo
      || n > hi)
    return caf::make_error(ec::invalid_config,
                           name + ": expected a whole number from "
                             + std::to_string(lo) + " to " + std::to_string(hi)
                             + ", got \"" + x.substr(0, 32) + "\"");
  return n;
}

void no_store(httplib::Response& res) {
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Content-Type-Options", "nosniff");
}

} // namespace

std::optional<dashboard_sample> sample_of(const pipeline_report& r) {
  // Before TOKEN's first observation its balance, cap and floor are not
  // Keepa's.
  if (!r.token_ok || r.token.mode == "unknown")
    return std::nullopt;
  dashboard_sample x;
  x.at_ms = r.unix_ms;
  x.balance = r.token.projected;
  x.cap = r.token.cap;
  x.floor = r.token.floor;
  x.deals = deals_of(r);
  for (auto s : all_stages)
    x.spent[static_cast<size_t>(s)] = spent_by(r.token.totals, s);
  return x;
}

sample_ring::sample_ring(size_t capacity, caf::timespan every)
  : capacity_(std::max<size_t>(capacity, 1)), every_(every) {
  // nop
}

bool sample_ring::add(const dashboard_sample& x) {
  auto every_ms
    = std::chrono::duration_cast<std::chrono::milliseconds>(every_).count();
  if (!xs_.empty() && x.at_ms - xs_.back().at_ms < every_ms)
    return false;
  if (xs_.size() == capacity_)
    xs_.pop_front();
  xs_.push_back(x);
  return true;
}

const dashboard_sample* sample_ring::since(int64_t now_ms,
                                           caf::timespan window) const {
  if (xs_.empty())
    return nullptr;
  auto from = now_ms
    - std::chrono::duration_cast<std::chrono::milliseconds>(window).count();
  auto i = std::find_if(xs_.begin(), xs_.end(), [&](const dashboard_sample& x) {
    return x.at_ms >= from;
  });
  return i != xs_.end() ? &*i : &xs_.front();
}

std::optional<double> per_hour(int64_t now, int64_t now_ms, int64_t then,
                               int64_t then_ms) {
  auto dt = now_ms - then_ms;
  if (dt < 60'000)
    return std::nullopt;
  return static_cast<double>(now - then) * 3'600'000.0
    / static_cast<double>(dt);
}

std::string summary_json(const pipeline_report& r, const sample_ring& ring) {
  rapidjson::StringBuffer buf;
  writer w{buf};
  auto then = ring.since(r.unix_ms, rate_window);
  auto rate = [&](int64_t x_now, int64_t x_then) -> std::optional<double> {
    if (then == nullptr)
      return std::nullopt;
    return per_hour(x_now, r.unix_ms, x_then, then->at_ms);
  };
  w.StartObject();
  key(w, "at_unix_ms");
  w.Int64(r.unix_ms);
  key(w, "rate_window_seconds");
  if (then != nullptr && r.unix_ms - then->at_ms >= 60'000)
    w.Double(static_cast<double>(r.unix_ms - then->at_ms) / 1000.0);
  else
    w.Null();
  key(w, "token");
  if (!r.token_ok) {
    w.Null();
  } else {
    auto& t = r.token;
    w.StartObject();
    key(w, "balance_tokens");
    w.Int64(t.projected);
    key(w, "outstanding_tokens");
    w.Int64(t.outstanding);
    key(w, "refill_tokens_per_minute");
    w.Int64(t.refill_rate);
    key(w, "cap_tokens");
    w.Int64(t.cap);
    key(w, "floor_tokens");
    w.Int64(t.floor);
    key(w, "profile");
    text(w, t.profile);
    key(w, "mode");
    text(w, t.mode);
    bool waits = t.waiting_for != 0 && !t.queue.empty();
    key(w, "waits_for_balance_tokens");
    if (waits)
      w.Int64(t.waiting_for);
    else
      w.Null();
    key(w, "wait_seconds");
    if (waits)
      w.Double(seconds(t.queue.front().eta));
    else
      w.Null();
    key(w, "next_refill_seconds");
    w.Double(seconds(t.next_refill));
    key(w, "observation_age_seconds");
    w.Double(seconds(t.observation_age));
    key(w, "waiting_requests");
    w.Uint64(t.queue.size());
    key(w, "queue");
    w.StartArray();
    for (size_t i = 0; i < t.queue.size() && i < max_listed_waits; ++i) {
      auto& e = t.queue[i];
      w.StartObject();
      key(w, "consumer");
      text(w, e.consumer);
      key(w, "stage");
      w.String(to_string(e.what));
      key(w, "cost_tokens");
      w.Int64(e.cost);
      key(w, "eta_seconds");
      w.Double(seconds(e.eta));
      w.EndObject();
    }
    w.EndArray();
    key(w, "spent_tokens");
    w.Int64(t.totals.consumed);
    key(w, "spent_tokens_by_stage");
    w.StartObject();
    for (auto s : all_stages) {
      key(w, to_string(s));
      w.Int64(spent_by(t.totals, s));
    }
    w.EndObject();
    key(w, "spent_tokens_per_hour_by_stage");
    w.StartObject();
    for (auto s : all_stages) {
      key(w, to_string(s));
      maybe(w,
            then != nullptr
              ? rate(spent_by(t.totals, s), then->spent[static_cast<size_t>(s)])
              : std::nullopt);
    }
    w.EndObject();
    w.EndObject();
  }
  key(w, "stages");
  w.StartArray();
  auto dc = deals_of(r);
  for (auto& c : counters) {
    w.StartObject();
    key(w, "name");
    w.String(c.name);
    key(w, "count");
    w.Int64(dc.*c.value);
    key(w, "per_hour");
    maybe(w,
          then != nullptr ? rate(dc.*c.value, then->deals.*c.value)
                          : std::nullopt);
    w.EndObject();
  }
  w.EndArray();
  key(w, "storage");
  if (!r.counts_ok) {
    w.Null();
  } else {
    w.StartObject();
    key(w, "deals");
    w.Uint64(r.counts.deals);
    key(w, "rejections");
    w.Uint64(r.counts.rejections);
    w.EndObject();
  }
  // The ETA to keepa.max-deals, by the model keepa-eta fits (null without a
  // max-deals; `seconds` null while it cannot be fitted or is out of reach).
  key(w, "eta");
  if (r.max_deals == 0) {
    w.Null();
  } else {
    auto eta = eta_to_max_deals(r);
    w.StartObject();
    key(w, "max_deals");
    w.Uint64(r.max_deals);
    key(w, "seconds");
    if (eta && eta->reachable)
      w.Double(seconds(eta->time));
    else
      w.Null();
    key(w, "deals_per_hour");
    if (eta)
      w.Double(eta->deals_per_hour);
    else
      w.Null();
    key(w, "limit");
    if (eta)
      w.String(eta->plan_limited ? "plan" : "feed");
    else
      w.Null();
    key(w, "why_none");
    if (!eta)
      text(w, "fitting: " + render(eta.error()));
    else if (!eta->reachable)
      text(w, "out of reach: more deals than the plan can keep refreshed");
    else
      w.Null();
    w.EndObject();
  }
  w.EndObject();
  return done(buf);
}

std::string balance_json(const sample_ring& ring) {
  rapidjson::StringBuffer buf;
  writer w{buf};
  auto& xs = ring.samples();
  auto column = [&](const char* name, auto get) {
    key(w, name);
    w.StartArray();
    for (auto& x : xs)
      w.Int64(get(x));
    w.EndArray();
  };
  w.StartObject();
  key(w, "sample_every_seconds");
  w.Double(seconds(ring.every()));
  key(w, "capacity_samples");
  w.Uint64(ring.capacity());
  column("at_unix_seconds",
         [](const dashboard_sample& x) { return x.at_ms / 1000; });
  column("balance_tokens", [](const dashboard_sample& x) { return x.balance; });
  column("cap_tokens", [](const dashboard_sample& x) { return x.cap; });
  column("floor_tokens", [](const dashboard_sample& x) { return x.floor; });
  w.EndObject();
  return done(buf);
}

caf::expected<db::deal_listing>
parse_deal_listing(const std::multimap<std::string, std::string>& params,
                   int64_t now_ms) {
  db::deal_listing q;
  constexpr int64_t big = 1'000'000'000'000;
  for (auto& [name, value] : params) {
    if (params.count(name) > 1)
      return caf::make_error(ec::invalid_config, name + ": given twice");
    if (name == "order") {
      auto by = db::parse_order(value);
      if (!by)
        return caf::make_error(ec::invalid_config,
                               "order: expected roi, profit, rank or newest, "
                               "got \""
                                 + value.substr(0, 32) + "\"");
      q.by = *by;
      continue;
    }
    if (name == "domain") {
      auto l = parse_locale(value);
      if (!l)
        return caf::make_error(ec::invalid_config,
                               "domain: expected a locale (us, uk, de, ...) "
                               "or Keepa's domain id, got \""
                                 + value.substr(0, 32) + "\"");
      q.domain = l->domain;
      continue;
    }
    struct bound {
      const char* name;
      int64_t lo, hi;
    };
    static constexpr bound bounds[] = {
      {"min_roi_bp", -big, big},   {"min_profit_cents", -big, big},
      {"max_rank", 1, big},        {"seen_within_seconds", 1, big},
      {"limit", 1, max_deal_page}, {"offset", 0, 1'000'000'000},
    };
    auto b = std::find_if(std::begin(bounds), std::end(bounds),
                          [&](const bound& x) { return name == x.name; });
    if (b == std::end(bounds))
      return caf::make_error(ec::invalid_config,
                             "unknown parameter \"" + name.substr(0, 32)
                               + "\" (order, min_roi_bp, min_profit_cents, "
                                 "max_rank, seen_within_seconds, domain, "
                                 "limit, offset)");
    auto n = whole(name, value, b->lo, b->hi);
    if (!n)
      return n.error();
    if (name == "min_roi_bp")
      q.min_roi_bp = *n;
    else if (name == "min_profit_cents")
      q.min_profit = *n;
    else if (name == "max_rank")
      q.max_rank = *n;
    else if (name == "seen_within_seconds")
      q.seen_since_ms = now_ms - 1000 * *n;
    else if (name == "limit")
      q.limit = static_cast<uint32_t>(*n);
    else
      q.offset = static_cast<uint32_t>(*n);
  }
  return q;
}

std::string deals_json(const db::deal_listing& q, uint64_t total,
                       const std::vector<deal_record>& deals) {
  rapidjson::StringBuffer buf;
  writer w{buf};
  w.StartObject();
  key(w, "order");
  w.String(db::to_string(q.by));
  key(w, "offset");
  w.Uint(q.offset);
  key(w, "limit");
  w.Uint(q.limit);
  key(w, "total");
  w.Uint64(total);
  key(w, "deals");
  w.StartArray();
  for (auto& d : deals) {
    std::string code, amazon, keepa;
    if (auto l = locale_of(d.domain)) {
      code = l->code;
      amazon = amazon_product_url(*l, d.asin);
      keepa = keepa_product_url(*l, d.asin);
    }
    w.StartObject();
    key(w, "asin");
    text(w, d.asin);
    key(w, "title");
    text(w, d.title);
    key(w, "domain");
    w.Int(d.domain);
    key(w, "locale");
    text_or_null(w, code);
    key(w, "currency");
    text(w, d.currency);
    key(w, "amazon_url");
    text_or_null(w, amazon);
    key(w, "keepa_url");
    text_or_null(w, keepa);
    key(w, "buy_price_cents");
    known(w, d.buy_price);
    key(w, "sell_price_cents");
    known(w, d.est_sell_price);
    key(w, "all_in_cost_cents");
    known(w, d.all_in_cost);
    key(w, "min_listing_price_cents");
    known(w, d.min_listing_price);
    key(w, "profit_cents");
    w.Int(d.profit);
    key(w, "roi_percent");
    w.Double(d.roi_bp / 100.0);
    key(w, "margin_percent");
    w.Double(d.margin_bp / 100.0);
    key(w, "sales_rank");
    if (d.sales_rank > 0)
      w.Int(d.sales_rank);
    else
      w.Null();
    key(w, "rank_drops_90_days");
    known(w, d.rank_drops90);
    key(w, "offers_used");
    known(w, d.offers_used);
    key(w, "last_update_unix_seconds");
    w.Int64(unix_ms_from_keepa_minute(d.last_update) / 1000);
    key(w, "first_seen_unix_seconds");
    w.Int64(d.first_seen_ms / 1000);
    key(w, "last_seen_unix_seconds");
    w.Int64(d.last_seen_ms / 1000);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return done(buf);
}

std::string locales_json() {
  rapidjson::StringBuffer buf;
  writer w{buf};
  w.StartObject();
  key(w, "locales");
  w.StartArray();
  for (auto& l : locales()) {
    w.StartObject();
    key(w, "domain");
    w.Int(l.domain);
    key(w, "code");
    text(w, l.code);
    key(w, "currency");
    text(w, l.currency);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return done(buf);
}

dashboard::dashboard(std::function<pipeline_report()> report,
                     dashboard_options opts)
  : report_(std::move(report)),
    opts_(std::move(opts)),
    ring_(opts_.samples, opts_.sample_every) {
  // nop
}

dashboard::~dashboard() = default;

void dashboard::observe(const pipeline_report& r) {
  auto x = sample_of(r);
  if (!x)
    return;
  std::lock_guard<std::mutex> guard{mtx_};
  ring_.add(*x);
}

std::pair<int, std::string>
dashboard::deals(const std::multimap<std::string, std::string>& params,
                 int64_t now_ms) {
  auto q = parse_deal_listing(params, now_ms);
  if (!q)
    return {400, error_json(render(q.error()))};
  std::lock_guard<std::mutex> guard{db_mtx_};
  auto unreadable = [this](const caf::error& err) {
    // Opened again at the next request: the pipeline may not have created
    // or migrated the database yet, or its server restarts.
    db_.reset();
    return std::pair<int, std::string>{
      503, error_json("the deals cannot be read now: " + render(err))};
  };
  if (!db_) {
    db::open_options o;
    o.url = opts_.storage_url;
    o.read_only = true;
    auto opened = db::soci_backend::open(o);
    if (!opened)
      return unreadable(opened.error());
    db_ = std::move(*opened);
  }
  auto total = db_->count_deals(*q);
  if (!total)
    return unreadable(total.error());
  auto page = db_->list_deals(*q);
  if (!page)
    return unreadable(page.error());
  return {200, deals_json(*q, *total, *page)};
}

void dashboard::mount(httplib::Server& srv) {
  for (auto& f : embedded_files()) {
    auto serve = [&f](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string{f.body}, f.content_type.data());
      res.set_header("Cache-Control", "no-cache");
      res.set_header("X-Content-Type-Options", "nosniff");
      // Everything the page loads comes from here; links open elsewhere
      // without telling where they came from.
      res.set_header("Content-Security-Policy",
                     "default-src 'self'; img-src 'self' data:; "
                     "frame-ancestors 'none'; form-action 'self'; "
                     "base-uri 'none'");
      res.set_header("Referrer-Policy", "no-referrer");
    };
    srv.Get(std::string{f.path}, serve);
    if (f.path == "/index.html")
      srv.Get("/", serve);
  }
  srv.Get("/api/summary",
          [this](const httplib::Request&, httplib::Response& res) {
            auto r = report_();
            std::string body;
            {
              std::lock_guard<std::mutex> guard{mtx_};
              body = summary_json(r, ring_);
            }
            no_store(res);
            res.set_content(body, "application/json");
          });
  srv.Get("/api/balance",
          [this](const httplib::Request&, httplib::Response& res) {
            std::string body;
            {
              std::lock_guard<std::mutex> guard{mtx_};
              body = balance_json(ring_);
            }
            no_store(res);
            res.set_content(body, "application/json");
          });
  srv.Get("/api/locales", [](const httplib::Request&, httplib::Response& res) {
    no_store(res);
    res.set_content(locales_json(), "application/json");
  });
  srv.Get("/api/deals",
          [this](const httplib::Request& req, httplib::Response& res) {
            auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
            auto [status, body] = deals(req.params, now);
            res.status = status;
            no_store(res);
            res.set_content(body, "application/json");
          });
}

} // namespace keepa
