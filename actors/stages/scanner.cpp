#include "actors/stages/scanner.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <sstream>

#include <caf/actor_system.hpp>
#include <caf/config_value.hpp>
#include <caf/settings.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "actors/status.hpp"
#include "actors/client/costs.hpp"
#include "actors/token/token_bucket.hpp"
#include "config/locale_option.hpp"
#include "messages/keepa.hpp"
#include "messages/storage.hpp"
#include "messages/asin.hpp"

namespace keepa {

namespace {

/// The domainId of a query document: none when it has none; an error when
/// it is not a number.
caf::expected<std::optional<int32_t>>
domain_id_in(const rapidjson::Document& doc, const std::string& path) {
  auto i = doc.FindMember("domainId");
  if (i == doc.MemberEnd())
    return std::optional<int32_t>{};
  if (!i->value.IsInt())
    return caf::make_error(ec::invalid_config,
                           path + ": domainId must be a JSON number");
  return std::optional<int32_t>{i->value.GetInt()};
}

} // namespace

caf::expected<scanner_config> scanner_config_from(const caf::settings& opts) {
  scanner_config cfg;
  auto chosen = locale_option(opts);
  if (!chosen)
    return std::move(chosen.error());
  auto path = caf::get_or(opts, "keepa.scan.query-file",
                          defaults::scan::query_file());
  std::ifstream in{path};
  if (!in)
    return caf::make_error(ec::invalid_config,
                           "cannot read the deal query " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  cfg.selection = buf.str();
  rapidjson::Document doc;
  doc.Parse(cfg.selection.data(), cfg.selection.size());
  if (doc.HasParseError() || !doc.IsObject())
    return caf::make_error(ec::invalid_config, path + " is not a JSON object");
  auto named = domain_id_in(doc, path);
  if (!named)
    return std::move(named.error());
  auto loc = agreed_locale(*chosen, *named, path);
  if (!loc)
    return std::move(loc.error());
  cfg.domain = loc->domain;
  if (!*named) {
    // The selection goes to /deal with the pipeline's locale.
    doc.AddMember("domainId", cfg.domain, doc.GetAllocator());
    rapidjson::StringBuffer out;
    rapidjson::Writer<rapidjson::StringBuffer> writer{out};
    doc.Accept(writer);
    cfg.selection = out.GetString();
  }
  cfg.interval = caf::get_or(opts, "keepa.scan.interval",
                             caf::timespan{defaults::scan::interval});
  cfg.max_backlog = caf::get_or(opts, "keepa.scan.max-backlog",
                                defaults::scan::max_backlog);
  if (cfg.interval.count() <= 0)
    return caf::make_error(ec::invalid_config,
                           "keepa.scan.interval must be positive");
  auto slices = feed_slices::make(cfg.selection,
                                  caf::get_or(opts, "keepa.scan.price-bands",
                                              defaults::scan::price_bands()));
  if (!slices)
    return caf::make_error(ec::invalid_config,
                           path + ": " + render(slices.error()));
  cfg.slices = std::move(*slices);
  cfg.max_slices = caf::get_or(opts, "keepa.scan.max-slices",
                               defaults::scan::max_slices);
  auto source = caf::get_or(opts, "keepa.scan.source",
                            std::string{defaults::scan::source});
  if (source == "deals")
    cfg.source = scan_source::deals;
  else if (source == "finder")
    cfg.source = scan_source::finder;
  else if (source == "both")
    cfg.source = scan_source::both;
  else
    return caf::make_error(ec::invalid_config,
                           "keepa.scan.source must be deals, finder or both");
  if (cfg.source == scan_source::deals)
    return cfg;
  auto finder_path = caf::get_or(opts, "keepa.scan.finder-query-file",
                                 defaults::scan::finder_query_file());
  std::ifstream fin{finder_path};
  if (!fin)
    return caf::make_error(ec::invalid_config,
                           "cannot read the Product Finder query "
                             + finder_path);
  std::stringstream fbuf;
  fbuf << fin.rdbuf();
  cfg.finder_query = fbuf.str();
  rapidjson::Document fdoc;
  fdoc.Parse(cfg.finder_query.data(), cfg.finder_query.size());
  if (fdoc.HasParseError() || !fdoc.IsObject())
    return caf::make_error(ec::invalid_config,
                           finder_path + " is not a JSON object");
  // /query takes the domain beside the selection: a domainId in the file
  // must agree with the deal query's locale.
  auto finder_named = domain_id_in(fdoc, finder_path);
  if (!finder_named)
    return std::move(finder_named.error());
  if (*finder_named)
    if (auto agreed = agreed_locale(*loc, *finder_named, finder_path); !agreed)
      return std::move(agreed.error());
  if (auto i = fdoc.FindMember("perPage"); i != fdoc.MemberEnd()) {
    if (!i->value.IsInt() || i->value.GetInt() < 50
        || i->value.GetInt() > finder_cursor::max_results)
      return caf::make_error(ec::invalid_config,
                             finder_path
                               + ": perPage must be a number in 50..10000");
    cfg.finder_per_page = i->value.GetInt();
  }
  return cfg;
}

const char* to_string(scan_source x) {
  switch (x) {
    case scan_source::deals: return "deals";
    case scan_source::finder: return "finder";
    case scan_source::both: return "both";
  }
  return "?";
}

size_t scanner_state::max_slices() const {
  if (cfg.max_slices > 0)
    return std::max(cfg.max_slices, cfg.slices.size());
  auto by_rate
    = static_cast<size_t>((refill_rate + defaults::scan::tokens_per_slice - 1)
                          / defaults::scan::tokens_per_slice);
  return std::max({size_t{1}, cfg.slices.size(),
                   std::min(by_rate, defaults::scan::max_auto_slices)});
}

uint64_t scanner_state::low_water() const {
  // A peek costs a token per candidate.
  auto minutes = std::chrono::duration<double, std::ratio<60>>{cfg.deal_cache};
  auto plan = static_cast<uint64_t>(
    static_cast<double>(std::max<int64_t>(refill_rate, 0)) * minutes.count());
  if (plan == 0)
    return 0;
  return std::min<uint64_t>(
    cfg.max_backlog,
    plan + static_cast<uint64_t>(std::max<int64_t>(tokens_left, 0)));
}

bool scanner_state::read_enough() const {
  auto want = low_water();
  if (want == 0 || worth_share >= 1 || finder_pass
      || cursor.slice() + 1 < std::max<size_t>(slices.size(), 1))
    return false;
  return static_cast<double>(backlog)
    + worth_share * static_cast<double>(cursor.found())
    >= static_cast<double>(want);
}

double scanner_state::feed_rate() const {
  return arrival_minutes > 0 ? arrived / arrival_minutes : -1;
}

caf::timespan scanner_state::thin_wait(caf::actor_clock::time_point now) const {
  auto rate = feed_rate();
  if (cfg.source != scan_source::deals || !has_pass || rate < 0)
    return caf::timespan::zero();
  using minutes = std::chrono::duration<double, std::ratio<60>>;
  auto n = static_cast<double>(std::max<size_t>(slices.size(), 1));
  caf::timespan wait = defaults::scan::thin_wait_max;
  auto at_most = [&](double m) {
    if (minutes{m} < wait)
      wait = std::chrono::duration_cast<caf::timespan>(minutes{m});
  };
  // Half a page of new deals per slice ...
  if (rate > 0)
    at_most(0.5 * static_cast<double>(feed_cursor::page_size) * n / rate);
  // ... or pages that cost at most a tenth of what the plan refilled since
  // the last pass (a big plan does not make a deal wait for 5 tokens).
  auto page_cost = static_cast<double>(worst_case_cost(deal_query{}));
  if (refill_rate > 0)
    at_most(10.0 * page_cost * n / static_cast<double>(refill_rate));
  auto due = pass_began + wait;
  return due > now ? due - now : caf::timespan::zero();
}

void scanner_state::offered(size_t offered, uint64_t now) {
  // Nothing held (the peek-filter peeks at once, or holds nothing back):
  // no sign of what was worth a token.
  if (offered == 0 || now == 0)
    return;
  // The answer comes before any of the offer is peeked, so it counts every
  // offered candidate worth a token: at most that share of the offer was.
  // An upper bound, never below the truth: every candidate worth a token
  // keeps the share at 1, and a big plan's passes are never cut short.
  auto most = std::min(1.0,
                       static_cast<double>(now) / static_cast<double>(offered));
  worth_share = 0.8 * worth_share + 0.2 * most;
}

const char* to_string(scan_phase x) {
  switch (x) {
    case scan_phase::starting: return "starting";
    case scan_phase::idle: return "idle";
    case scan_phase::asking_backlog: return "asking-backlog";
    case scan_phase::asking_balance: return "asking-balance";
    case scan_phase::acquiring: return "acquiring";
    case scan_phase::fetching: return "fetching";
    case scan_phase::backing_off: return "backing-off";
    case scan_phase::handing_on: return "handing-on";
  }
  return "?";
}

void scanner_state::on_token_error(const caf::error&) {
  if (finder_pass)
    finder.finish_pass(false);
  else
    cursor.finish_pass(false);
  phase = scan_phase::idle;
}

namespace {

/// A complete pass's deals, sorted out before anything is sent.
struct sorted_out {
  /// Free rejections and the positions they make done.
  upsert_batch free;
  /// Candidates for the peek-filter, oldest first.
  std::vector<deal> keep;
  /// Every position of the pass (storage tracks them until done).
  std::vector<feed_position> tracked;
};

/// Rejects for free what the feed already disproves or storage remembers
/// (`mem`) as rejected at no lower price, and what storage holds at this
/// version already; keeps the rest.
sorted_out sort_out(scanner_pointer self, std::vector<deal> fresh,
                    std::vector<asin_memory>& mem) {
  auto& st = self->state;
  auto& ctx = st.ctx;
  auto now = unix_now_ms(self, ctx);
  std::map<std::string, asin_memory> by_asin;
  for (auto& m : mem)
    by_asin.emplace(m.asin, m);
  sorted_out out;
  for (auto& d : fresh) {
    out.tracked.push_back(position_of(d));
    auto i = by_asin.find(d.asin);
    // A Product Finder candidate has no price: Keepa applied the price
    // range, and a stored one is kept fresh by the updater, not bought
    // again; a rejection it remembers stays (no price proves a drop).
    auto listed = d.current.empty();
    if (listed && i != by_asin.end() && i->second.stored) {
      ++st.n.already_stored;
      out.free.done.push_back(position_of(d));
      continue;
    }
    if (i != by_asin.end() && i->second.stored
        && i->second.stored_last_update >= d.last_update) {
      // Stored at this version already (a rescan after a restart).
      ++st.n.already_stored;
      out.free.done.push_back(position_of(d));
      continue;
    }
    auto seen = i != by_asin.end()
      ? sighting_from_feed(d, i->second, *ctx.analysis, now)
      : caf::none;
    if (seen) {
      // Seen again at a price that changes nothing but the figures:
      // refreshed, not bought.
      ++st.n.refreshed;
      out.free.seen.push_back(std::move(*seen));
      out.free.done.push_back(position_of(d));
      continue;
    }
    auto reason = listed ? rejection_reason::none
                         : pre_reject(d, *ctx.analysis);
    if (reason == rejection_reason::none && i != by_asin.end()
        && remembered_reject(d, i->second, *ctx.analysis, now)) {
      ++st.n.remembered;
      reason = rejection_reason::remembered;
    } else if (reason != rejection_reason::none) {
      ++st.n.pre_rejected;
    }
    if (reason == rejection_reason::none) {
      out.keep.push_back(std::move(d));
      continue;
    }
    // Remembered rejections keep their original record.
    if (reason != rejection_reason::remembered)
      out.free.rejections.push_back(
        rejection_record{d.asin, stage::scan, to_string(reason),
                         at(d.current, csv::used), now, -1});
    out.free.done.push_back(position_of(d));
  }
  st.n.candidates += out.keep.size();
  return out;
}

void storage_failed(scanner_pointer self, const caf::error& err) {
  ++self->state.n.errors;
  stage_log(self, log_level::error, "storage: " + render(err));
}

void wake_for_pass(scanner_pointer self);

/// How long the peek-filter has been dry waiting for the feed (0 if not).
uint64_t dry_for_ms(scanner_pointer self) {
  auto& st = self->state;
  if (!st.dry_since)
    return 0;
  return static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::milliseconds>(self->clock().now()
                                                          - *st.dry_since)
      .count());
}

/// handing_on -> idle: the pass went on (`tracked`), or STORAGE failed and
/// the next pass reads it again. The next pass may start once the pass's
/// result sets expired.
void handed_on(scanner_pointer self, bool tracked) {
  auto& st = self->state;
  if (!tracked) {
    if (st.finder_pass)
      st.finder.rewind_pass();
    else
      st.cursor.rewind_pass();
    stage_log(self, log_level::warning,
              "the pass was not tracked; the next pass reads it again");
  }
  st.phase = scan_phase::idle;
  settle_stop(self);
  wake_for_pass(self);
}

/// Stores the free rejections and offers the candidates.
void send_on(scanner_pointer self, sorted_out x) {
  auto& st = self->state;
  if (!x.free.done.empty())
    self
      ->request(st.ctx.storage, caf::infinite, atom::upsert_v,
                std::move(x.free))
      .then([](upsert_ack&) {},
            [self](caf::error& err) { storage_failed(self, err); });
  if (!x.keep.empty()) {
    st.n.dry_ms += dry_for_ms(self);
    st.dry_since = caf::none;
    auto offered = x.keep.size();
    self->request(st.peek, caf::infinite, atom::offer_v, std::move(x.keep))
      .then([self, offered](uint64_t backlog) {
        self->state.offered(offered, backlog);
        self->state.backlog = backlog;
      });
  }
}

/// Tracks every position with storage first (so the watermark cannot pass
/// them), then sends on.
void track(scanner_pointer self, sorted_out x) {
  auto tracked = std::move(x.tracked);
  self
    ->request(self->state.ctx.storage, caf::infinite, atom::track_v,
              std::move(tracked))
    .then(
      [self, x{std::move(x)}](uint64_t) mutable {
        send_on(self, std::move(x));
        handed_on(self, true);
      },
      [self](caf::error& err) {
        storage_failed(self, err);
        handed_on(self, false);
      });
}

/// idle -> handing_on: sorts out what a complete pass found (oldest first)
/// by what storage knows of it, tracks it, then stores the free rejections
/// and offers the candidates.
void hand_on(scanner_pointer self, std::vector<deal> fresh) {
  auto& st = self->state;
  if (fresh.empty()) {
    wake_for_pass(self);
    return;
  }
  st.phase = scan_phase::handing_on;
  std::vector<std::string> asins;
  for (auto& d : fresh)
    asins.push_back(d.asin);
  self->request(st.ctx.storage, caf::infinite, atom::known_v, asins)
    .then(
      [self, fresh{std::move(fresh)}](std::vector<asin_memory>& mem) mutable {
        track(self, sort_out(self, std::move(fresh), mem));
      },
      [self](caf::error& err) {
        storage_failed(self, err);
        handed_on(self, false);
      });
}

// -- transitions --------------------------------------------------------------

/// Ends the pass (-> idle, or handing_on). A `complete` one (it reached its
/// floor, the end of the feed or the page limit) hands on what it found,
/// oldest first; an incomplete one (a page that failed every attempt, a
/// stop) drops it, and the next pass fetches it again.
void finish_pass(scanner_pointer self, bool complete) {
  auto& st = self->state;
  st.phase = scan_phase::idle;
  if (st.finder_pass) {
    // With both sources the positions stay at or below the feed's newest
    // handed on: the shared watermark never passes an unread deal page.
    auto cap = st.cfg.source == scan_source::both && st.cursor.has_upto()
      ? st.cursor.upto().last_update
      : 0;
    auto found = st.finder.finish_pass(complete, cap);
    if (complete)
      hand_on(self, std::move(found));
    else
      wake_for_pass(self);
    settle_stop(self);
    return;
  }
  auto found = st.cursor.finish_pass(complete);
  st.n.held_back += st.cursor.held_back();
  if (complete && st.pass_whole && st.previous_pass_began) {
    // Whole: it found every deal new since the pass before began.
    auto minutes = std::chrono::duration<double, std::ratio<60>>{
      st.pass_began - *st.previous_pass_began};
    st.arrived = st.arrived / 2 + static_cast<double>(found.size());
    st.arrival_minutes = st.arrival_minutes / 2 + minutes.count();
  }
  // Split the slices that overflowed, the last first (indices stay valid).
  auto max = st.max_slices();
  for (auto i = st.overflowed.rbegin(); i != st.overflowed.rend(); ++i)
    if (st.slices.split(i->slice, std::move(i->prices), max, i->parts)) {
      ++st.n.splits;
      stage_log(self,
                "a slice listed 10000 deals before the floor; now "
                  + std::to_string(st.slices.size())
                  + " slices: " + st.slices.to_string());
    }
  st.overflowed.clear();
  st.slice_prices.clear();
  if (complete)
    hand_on(self, std::move(found));
  else
    wake_for_pass(self);
  settle_stop(self);
}

void next_page(scanner_pointer self);

/// The `retry` that ends a page's backoff. TOKEN numbers its tickets from 1
/// and reads 0 as "no ticket: a new request", so 0 never names a
/// recharge-wait of the gate.
constexpr uint64_t page_retry_ticket = 0;

/// Into how many slices an overflowing slice splits: its deals arrived at
/// `listed` over the minutes it listed; each part should list at most
/// 7000 (of the 10 000 a query lists) in a cache period and a minute.
size_t split_parts(const scanner_state& st, size_t listed) {
  auto span = std::max<int64_t>(1, int64_t{st.slice_newest} - st.slice_oldest);
  auto minutes
    = std::chrono::duration<double, std::ratio<60>>{st.cfg.deal_cache}.count()
    + 1;
  auto per_period = static_cast<double>(listed) / span * minutes;
  return std::max<size_t>(2, static_cast<size_t>(std::ceil(per_period / 7000)));
}

/// What every page's envelope tells: the net refill rate, and the Keepa
/// minute of the answer (never ahead of ours; 0 if unknown), which dates
/// the result set.
int32_t read_envelope(scanner_pointer self, const envelope& env) {
  auto& st = self->state;
  st.page_failures = 0;
  if (env.refill_rate > 0) {
    st.refill_rate = net_refill_rate(env.refill_rate, env.token_flow_reduction);
    st.tokens_left = env.tokens_left;
  }
  return env.timestamp_ms > 0 ? static_cast<int32_t>(keepa_minute_from_unix_ms(
           std::min(env.timestamp_ms, unix_now_ms(self, st.ctx))))
                              : 0;
}

/// fetching -> acquiring (next page) or idle (the pass ends).
void on_page(scanner_pointer self, deal_page& page) {
  auto& st = self->state;
  ++st.n.pages;
  auto number = st.cursor.page();
  auto slice = st.cursor.slice();
  auto snapshot = read_envelope(self, page.env);
  auto pt = static_cast<size_t>(st.slices.price_type());
  if (number == 0) {
    st.slice_newest = 0;
    st.slice_oldest = std::numeric_limits<int32_t>::max();
  }
  for (auto& d : page.deals) {
    st.slice_newest = std::max(st.slice_newest, d.last_update);
    st.slice_oldest = std::min(st.slice_oldest, d.last_update);
    if (st.slices.price_type() >= 0 && pt < d.current.size()
        && d.current[pt] >= 0)
      st.slice_prices.push_back(d.current[pt]);
  }
  auto r = st.cursor.take_page(std::move(page.deals), snapshot);
  st.n.seen += r.seen;
  st.n.duplicates += r.duplicates;
  st.n.invalid += r.invalid.size();
  for (auto& x : r.invalid)
    stage_log(self, log_level::warning,
              "deal page " + std::to_string(number)
                + ": skipped a deal with an invalid ASIN \"" + printable_asin(x)
                + "\"");
  if (r.overflow) {
    st.pass_whole = false;
    ++st.n.overflows;
    auto parts = split_parts(st, st.slice_prices.size());
    st.overflowed.push_back({slice, std::move(st.slice_prices), parts});
  }
  if (r.slice_done)
    st.slice_prices.clear();
  if (r.last || st.stop.stopping()) {
    finish_pass(self, !st.stop.stopping());
    return;
  }
  if (st.read_enough()) {
    st.pass_whole = false;
    ++st.n.cut_short;
    finish_pass(self, true);
    return;
  }
  next_page(self);
}

/// Whether asking for the same page again can give another answer: not
/// when Keepa refused the request or the key, or the client is going down.
bool retryable(const caf::error& err) {
  return err != ec::request_rejected && err != ec::payment_required
    && err != ec::not_found && err != ec::missing_key
    && err != ec::invalid_config && err != ec::shutting_down;
}

/// The wait before attempt `failures + 1` at a page.
caf::timespan page_backoff(const scanner_config& cfg, int32_t failures) {
  auto d = cfg.page_backoff;
  for (int32_t i = 1; i < failures && d < cfg.page_backoff_max; ++i)
    d *= 2;
  return std::min(d, cfg.page_backoff_max);
}

/// fetching -> acquiring (429: the same page again), backing_off (a
/// failure: the same page after a backoff; the pass keeps what it read) or
/// idle (the pass ends incomplete: a stop, a request that cannot succeed,
/// or the page's attempts are used up).
void on_page_error(scanner_pointer self, const caf::error& err) {
  auto& st = self->state;
  if (err == ec::not_enough_tokens && !st.stop.stopping()) {
    next_page(self); // TOKEN knows the balance now
    return;
  }
  ++st.n.errors;
  auto what = (st.finder_pass
                 ? "Product Finder page " + std::to_string(st.finder.page())
                 : "deal page " + std::to_string(st.cursor.page()))
    + ": " + render(err);
  ++st.page_failures;
  if (st.stop.stopping() || !retryable(err)
      || st.page_failures >= st.cfg.page_attempts) {
    stage_log(self, log_level::error, what + "; the pass ends incomplete");
    finish_pass(self, false);
    return;
  }
  auto delay = page_backoff(st.cfg, st.page_failures);
  ++st.n.page_retries;
  stage_log(self, log_level::warning,
            what + "; again in " + caf::deep_to_string(delay) + " (attempt "
              + std::to_string(st.page_failures + 1) + " of "
              + std::to_string(st.cfg.page_attempts) + ")");
  st.phase = scan_phase::backing_off;
  self->delayed_send(self, delay, atom::retry_v, page_retry_ticket);
  settle_stop(self);
}

/// backing_off -> acquiring: the backoff is over; the page costs tokens
/// again like any request.
void on_backoff_over(scanner_pointer self) {
  if (self->state.phase == scan_phase::backing_off)
    next_page(self);
}

/// acquiring -> fetching, or (after stop) the grant is released.
void fetch_page(scanner_pointer self, deal_query q, const token_grant& g) {
  auto& st = self->state;
  if (release_after_stop(self, g)) {
    settle_stop(self);
    return;
  }
  q.grant_id = g.grant_id;
  st.phase = scan_phase::fetching;
  // The pass's first result set is computed now: the next pass waits for
  // it to expire.
  if (st.cursor.slice() == 0 && st.cursor.page() == 0)
    st.pass_began = self->clock().now();
  self->request(st.ctx.client, caf::infinite, atom::deal_v, q)
    .then([self](deal_page& page) { on_page(self, page); },
          [self](caf::error& err) { on_page_error(self, err); });
}

/// fetching -> acquiring (next page) or idle (the pass ends).
void on_finder_page(scanner_pointer self, finder_page& page) {
  auto& st = self->state;
  ++st.n.finder_pages;
  auto snapshot = read_envelope(self, page.env);
  st.n.finder_listed += page.asins.size();
  auto r = st.finder.take_page(std::move(page.asins), page.total_results,
                               snapshot);
  st.n.seen += r.seen;
  st.n.duplicates += r.duplicates;
  if (r.overflow) {
    ++st.n.finder_overflows;
    stage_log(self,
              "the Product Finder query matched "
                + std::to_string(page.total_results)
                + " products, more than the 10000 a query lists: the oldest "
                  "were not read (narrow the query)");
  }
  if (r.last || st.stop.stopping()) {
    finish_pass(self, !st.stop.stopping());
    return;
  }
  next_page(self);
}

/// acquiring -> fetching: a Product Finder page.
void fetch_finder_page(scanner_pointer self, finder_query q,
                       const token_grant& g) {
  auto& st = self->state;
  if (release_after_stop(self, g)) {
    settle_stop(self);
    return;
  }
  q.grant_id = g.grant_id;
  st.phase = scan_phase::fetching;
  self->request(st.ctx.client, caf::infinite, atom::finder_v, q)
    .then([self](finder_page& page) { on_finder_page(self, page); },
          [self](caf::error& err) { on_page_error(self, err); });
}

/// -> acquiring: asks TOKEN for the cursor's next page.
void next_page(scanner_pointer self) {
  auto& st = self->state;
  if (st.finder_pass) {
    finder_query q;
    q.domain = st.cfg.domain;
    q.selection = st.finder_selection;
    q.page = st.finder.page();
    q.per_page = st.finder.per_page();
    st.phase = scan_phase::acquiring;
    acquire(self, stage::scan, worst_case_cost(q),
            [self, q](const token_grant& g) mutable {
              fetch_finder_page(self, std::move(q), g);
            });
    return;
  }
  deal_query q;
  q.selection = st.slices.size() > 0 ? st.slices.selection(st.cursor.slice())
                                     : st.cfg.selection;
  q.page = st.cursor.page();
  q.sort_type = 1;
  st.phase = scan_phase::acquiring;
  acquire(self, stage::scan, worst_case_cost(q),
          [self, q](const token_grant& g) mutable {
            fetch_page(self, std::move(q), g);
          });
}

void start_pass(scanner_pointer self);

/// asking_backlog or asking_balance -> idle: the answer did not come.
void ask_failed(scanner_pointer self, const char* what, const caf::error& err) {
  auto& st = self->state;
  st.phase = scan_phase::idle;
  ++st.n.errors;
  stage_log(self, log_level::error, std::string{what} + ": " + render(err));
}

/// idle -> asking_backlog: more than `most` was queued at the last offer;
/// asks how much is queued now. The pass starts once the peek-filter holds
/// at most `most` (else the next chance asks again).
void ask_backlog(scanner_pointer self, uint64_t most) {
  auto& st = self->state;
  st.phase = scan_phase::asking_backlog;
  self->request(st.peek, caf::infinite, atom::backlog_v)
    .then(
      [self, most](uint64_t backlog) {
        auto& st = self->state;
        st.phase = scan_phase::idle;
        st.backlog = backlog;
        if (backlog <= most)
          start_pass(self);
      },
      [self](caf::error& err) { ask_failed(self, "peek backlog", err); });
}

/// When the result sets of the last pass expire.
caf::actor_clock::time_point cache_expiry(scanner_pointer self) {
  auto& st = self->state;
  return st.has_pass ? st.pass_began + st.cfg.deal_cache : self->clock().now();
}

void begin_pass(scanner_pointer self);

void wake_for_pass(scanner_pointer self, caf::actor_clock::time_point at);

/// idle -> asking_balance: a pass now would be thin (thin_wait); it waits
/// `wait` while the plan has other uses for the tokens, that is unless
/// the balance, refilled over the wait with nothing spent, would reach the
/// cap (then the tokens of its pages would be lost anyway).
void ask_balance(scanner_pointer self, caf::timespan wait) {
  auto& st = self->state;
  st.phase = scan_phase::asking_balance;
  self->request(st.ctx.token, caf::infinite, atom::snapshot_v)
    .then(
      [self, wait](token_status& ts) {
        auto& st = self->state;
        st.phase = scan_phase::idle;
        if (st.stop.stopping()) {
          settle_stop(self);
          return;
        }
        auto minutes = std::chrono::duration<double, std::ratio<60>>{wait};
        auto refilled = static_cast<double>(ts.projected)
          + static_cast<double>(ts.refill_rate) * minutes.count();
        auto known = ts.mode == "spending" || ts.mode == "recharging";
        if (known && ts.cap > 0 && refilled < static_cast<double>(ts.cap)) {
          ++st.n.thin_waits;
          wake_for_pass(self, self->clock().now() + wait);
          settle_stop(self);
          return;
        }
        begin_pass(self);
      },
      [self](caf::error& err) {
        ask_failed(self, "token snapshot", err);
        begin_pass(self);
        settle_stop(self);
      });
}

/// idle -> acquiring (a pass begins), asking_backlog or asking_balance;
/// before the last pass's result sets expired (the pass would read them
/// again) a wake-up at their expiry instead.
void start_pass(scanner_pointer self) {
  auto& st = self->state;
  if (st.phase != scan_phase::idle || st.stop.stopping())
    return;
  if (st.backlog > st.cfg.max_backlog) {
    ask_backlog(self, st.cfg.max_backlog);
    return;
  }
  auto now = self->clock().now();
  if (st.has_pass && now < cache_expiry(self)) {
    wake_for_pass(self);
    return;
  }
  if (auto wait = st.thin_wait(now); wait > caf::timespan::zero()) {
    ask_balance(self, wait);
    return;
  }
  begin_pass(self);
}

/// idle -> acquiring: the pass begins.
void begin_pass(scanner_pointer self) {
  auto& st = self->state;
  if (st.phase != scan_phase::idle || st.stop.stopping())
    return;
  ++st.n.passes;
  st.page_failures = 0;
  if (st.has_pass)
    st.previous_pass_began = st.pass_began;
  st.has_pass = true;
  st.pass_began = self->clock().now();
  // With both sources the passes alternate, the feed first.
  st.finder_pass = st.cfg.source == scan_source::finder
    || (st.cfg.source == scan_source::both && st.n.passes % 2 == 0);
  if (st.finder_pass) {
    // Without a watermark, the products updated in the last 12 hours:
    // those /deal would list.
    auto floor = st.finder.floor() > 0
      ? st.finder.floor()
      : static_cast<int32_t>(
        keepa_minute_from_unix_ms(unix_now_ms(self, st.ctx))
        - defaults::scan::finder_first_window_minutes);
    auto& a = *st.ctx.analysis;
    auto selection = finder_selection(st.cfg.finder_query, floor, a.min_price,
                                      a.max_price);
    if (!selection) {
      ++st.n.errors;
      stage_log(self, render(selection.error()));
      st.finder_pass = false;
      wake_for_pass(self);
      return;
    }
    ++st.n.finder_passes;
    st.finder_selection = std::move(*selection);
    st.finder.begin_pass(st.cfg.finder_per_page);
  } else {
    st.pass_whole = true;
    st.cursor.begin_pass(st.slices.size());
  }
  next_page(self);
}

/// The `retry` that wakes the scanner when the last pass's result sets
/// expired (TOKEN's tickets never reach it).
constexpr uint64_t pass_retry_ticket = std::numeric_limits<uint64_t>::max();

/// Schedules the next pass's chance at `at`, once (a wake-up already
/// scheduled, which comes no later, checks again then).
void wake_for_pass(scanner_pointer self, caf::actor_clock::time_point at) {
  auto& st = self->state;
  if (st.wake_scheduled || st.stop.stopping())
    return;
  st.wake_scheduled = true;
  auto now = self->clock().now();
  at = std::max(now, at);
  self->delayed_send(self, at - now, atom::retry_v, pass_retry_ticket);
}

/// Schedules the next pass's chance at the last pass's cache expiry.
void wake_for_pass(scanner_pointer self) {
  wake_for_pass(self, cache_expiry(self));
}

/// The cache expired: a pass starts if the peek-filter holds less than the
/// plan peeks before the next chance (tokens would pile up otherwise).
void on_wake(scanner_pointer self) {
  auto& st = self->state;
  st.wake_scheduled = false;
  if (st.phase != scan_phase::idle || st.stop.stopping())
    return;
  auto most = st.low_water();
  if (st.backlog <= most)
    start_pass(self);
  else if (most > 0)
    ask_backlog(self, most);
}

/// Hands on again what the previous run tracked but did not finish.
void resume(scanner_pointer self, const std::vector<feed_position>& xs) {
  auto& st = self->state;
  if (xs.empty())
    return;
  auto again = st.cursor.resume(xs);
  st.finder.resume(xs);
  st.n.resumed += again.size();
  stage_log(self,
            "resuming " + std::to_string(again.size())
              + " candidates the previous run did not finish");
  self->request(st.peek, caf::infinite, atom::offer_v, std::move(again))
    .then([self](uint64_t backlog) { self->state.backlog = backlog; });
}

/// starting -> idle, and the first scan.
void started(scanner_pointer self) {
  auto& st = self->state;
  st.phase = scan_phase::idle;
  if (st.cfg.slices.size() > 0) {
    st.slices = st.cfg.slices;
  } else if (auto xs = feed_slices::make(st.cfg.selection, {})) {
    st.slices = std::move(*xs);
  }
  self->send(self, atom::scan_v);
}

/// starting: resumes from the durable watermark, finishes what the
/// previous run left pending.
void start(scanner_pointer self) {
  auto& st = self->state;
  self->request(st.ctx.storage, caf::infinite, atom::watermark_v)
    .then(
      [self](feed_position& wm) {
        auto& st = self->state;
        st.cursor.start(wm);
        st.finder.start(wm);
        self->request(st.ctx.storage, caf::infinite, atom::pending_v)
          .then(
            [self](std::vector<feed_position>& xs) {
              resume(self, xs);
              started(self);
            },
            [self](caf::error& err) {
              stage_log(self, log_level::error,
                        "no pending positions: " + render(err));
              started(self);
            });
      },
      [self](caf::error& err) {
        stage_log(self, log_level::error, "no watermark: " + render(err));
        started(self);
      });
}

/// The `stop` handler: a pass waiting for tokens (its grant is released
/// when it comes) or for a failed page's backoff ends at once; a page in
/// flight is awaited.
caf::result<caf::ok_atom> on_stop(scanner_pointer self) {
  auto& st = self->state;
  auto rp = request_stop(self);
  if (st.phase == scan_phase::acquiring
      || st.phase == scan_phase::backing_off) {
    if (st.finder_pass)
      st.finder.finish_pass(false);
    else
      st.cursor.finish_pass(false);
    st.phase = scan_phase::idle;
  }
  return rp;
}

caf::settings to_settings(scanner_pointer self) {
  auto& st = self->state;
  caf::settings xs;
  auto put = [&](std::string key, uint64_t x) {
    xs.emplace(std::move(key), static_cast<int64_t>(x));
  };
  put("passes", st.n.passes);
  put("pages", st.n.pages);
  put("seen", st.n.seen);
  put("duplicates", st.n.duplicates);
  put("candidates", st.n.candidates);
  put("pre-rejected", st.n.pre_rejected);
  put("remembered", st.n.remembered);
  put("already-stored", st.n.already_stored);
  put("refreshed", st.n.refreshed);
  put("resumed", st.n.resumed);
  put("invalid", st.n.invalid);
  put("errors", st.n.errors);
  put("page-retries", st.n.page_retries);
  put("overflows", st.n.overflows);
  put("splits", st.n.splits);
  put("held-back", st.n.held_back);
  put("cut-short", st.n.cut_short);
  xs.emplace("worth-share", st.worth_share);
  put("slices", st.slices.size());
  put("max-slices", st.max_slices());
  xs.emplace("bands", st.slices.to_string());
  put("dry-waits", st.n.dry_waits);
  put("thin-waits", st.n.thin_waits);
  xs.emplace("feed-rate", st.feed_rate());
  put("dry-ms", st.n.dry_ms + dry_for_ms(self));
  xs.emplace("feed",
             std::string{st.dry_since ? "feed-limited" : "plan-limited"});
  put("peek-backlog", st.backlog);
  xs.emplace("source", std::string{to_string(st.cfg.source)});
  put("finder-passes", st.n.finder_passes);
  put("finder-pages", st.n.finder_pages);
  put("finder-listed", st.n.finder_listed);
  put("finder-overflows", st.n.finder_overflows);
  xs.emplace("finder-floor", static_cast<int64_t>(st.finder.floor()));
  xs.emplace("scanning", st.scanning());
  xs.emplace("phase", std::string{to_string(st.phase)});
  xs.emplace("upto-last-update",
             static_cast<int64_t>(st.cursor.upto().last_update));
  put_gate(xs, st.gate);
  put_mailbox(self, xs);
  return xs;
}

} // namespace

scanner_actor::behavior_type scanner(scanner_pointer self, stage_context ctx,
                                     scanner_config cfg,
                                     peek_filter_actor peek) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.cfg = std::move(cfg);
  st.peek = std::move(peek);
  start(self);
  return {
    [self](atom::scan) {
      auto& st = self->state;
      if (st.stop.stopping())
        return;
      start_pass(self);
      self->delayed_send(self, st.cfg.interval, atom::scan_v);
    },
    [self](atom::drained) {
      auto& st = self->state;
      st.backlog = 0;
      start_pass(self);
      if (!st.scanning() && st.phase != scan_phase::handing_on
          && !st.dry_since) {
        // Nothing to peek and no pass can read the feed yet.
        ++st.n.dry_waits;
        st.dry_since = self->clock().now();
      }
    },
    [self](atom::retry, uint64_t ticket) {
      if (ticket == page_retry_ticket)
        on_backoff_over(self);
      else if (ticket == pass_retry_ticket)
        on_wake(self);
      else
        on_retry(self, ticket);
    },
    [self](atom::stop) { return on_stop(self); },
    [self](atom::status) { return to_settings(self); },
  };
}

scanner_actor spawn_scanner(caf::actor_system& sys, stage_context ctx,
                            scanner_config cfg, peek_filter_actor peek) {
  return sys.spawn(scanner, std::move(ctx), std::move(cfg), std::move(peek));
}

} // namespace keepa
