#include "actors/stages/scanner.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include <caf/actor_system.hpp>
#include <caf/config_value.hpp>
#include <caf/settings.hpp>

#include <rapidjson/document.h>

#include "actors/status.hpp"
#include "actors/client/costs.hpp"
#include "messages/keepa.hpp"
#include "messages/storage.hpp"

#ifndef KEEPA_CONFIG_DIR
#  define KEEPA_CONFIG_DIR "config"
#endif

namespace keepa {

caf::expected<scanner_config> scanner_config_from(const caf::settings& opts) {
  scanner_config cfg;
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
    return caf::make_error(ec::invalid_config,
                           path + " is not a JSON object");
  if (!doc.HasMember("domainId") || !doc["domainId"].IsInt())
    return caf::make_error(ec::invalid_config,
                           path + ": domainId must be a JSON number");
  cfg.interval = caf::get_or(opts, "keepa.scan.interval",
                             caf::timespan{defaults::scan::interval});
  cfg.max_backlog = caf::get_or(opts, "keepa.scan.max-backlog",
                                defaults::scan::max_backlog);
  if (cfg.interval.count() <= 0)
    return caf::make_error(ec::invalid_config,
                           "keepa.scan.interval must be positive");
  return cfg;
}

namespace {

struct scanner_counters {
  uint64_t passes = 0;
  uint64_t pages = 0;
  uint64_t seen = 0;
  uint64_t duplicates = 0;
  uint64_t candidates = 0;
  uint64_t pre_rejected = 0;
  uint64_t remembered = 0;
  uint64_t already_stored = 0;
  uint64_t resumed = 0;
  uint64_t errors = 0;
};

struct scanner_state {
  static constexpr const char* name = "scanner";

  stage_context ctx;
  scanner_config cfg;
  peek_filter_actor peek;
  token_gate gate;
  /// Newest position handed on (or the durable watermark at start).
  feed_position upto;
  bool have_upto = false;
  /// Positions handed on in `upto`'s minute. Keepa's lastUpdate counts
  /// minutes, so a book updated later in that minute sorts below `upto`
  /// by its ASIN and is new; these are not.
  std::set<feed_position> upto_minute;
  /// `upto` when the current pass began: the pass stops before its minute.
  feed_position pass_floor;
  feed_position pass_newest;
  /// Positions seen in this pass (pages overlap when the feed moves).
  std::set<feed_position> pass_seen;
  /// What this pass found, newest first. Handed on only once the pass
  /// reached its floor: tracking page 0 before the older pages are even
  /// fetched would let the watermark pass their positions (they would not
  /// survive a restart).
  std::vector<deal> pass_fresh;
  /// Positions a previous run handed on but did not finish; handed on
  /// again at start, so the feed must not hand them on a second time.
  std::set<feed_position> resumed;
  bool scanning = false;
  bool in_flight = false;
  int32_t page = 0;
  /// The peek-filter's queue as it answered the last offer.
  uint64_t backlog = 0;
  /// Asking the peek-filter for its queue now (the answer above is only as
  /// fresh as the last offer, and the queue shrinks without offers).
  bool asking_backlog = false;
  bool stopping = false;
  std::vector<caf::response_promise> stop_waiters;
  scanner_counters n;

  void on_token_error(const caf::error&) {
    scanning = false;
  }
};

using scanner_pointer = scanner_actor::stateful_pointer<scanner_state>;

void hand_on(scanner_pointer self, std::vector<deal> fresh);

/// Ends a pass. A `complete` one (it reached its floor, the end of the feed
/// or the page limit) hands on what it found, oldest first; an incomplete
/// one (an error, a stop) drops it, and the next pass fetches it again.
void finish_pass(scanner_pointer self, bool complete) {
  auto& st = self->state;
  st.scanning = false;
  auto found = std::move(st.pass_fresh);
  st.pass_fresh.clear();
  if (complete) {
    if (st.have_upto || !(st.pass_newest == feed_position{})) {
      if (st.upto < st.pass_newest)
        st.upto = st.pass_newest;
      st.have_upto = true;
    }
    auto minute = st.upto.last_update;
    st.upto_minute.erase(st.upto_minute.begin(),
                         st.upto_minute.lower_bound(feed_position{minute, ""}));
    for (auto& d : found)
      if (d.last_update == minute)
        st.upto_minute.insert(position_of(d));
    std::reverse(found.begin(), found.end());
    hand_on(self, std::move(found));
  }
  if (st.stopping && !st.in_flight) {
    for (auto& rp : st.stop_waiters)
      rp.deliver(caf::ok_atom::value);
    st.stop_waiters.clear();
  }
}

void next_page(scanner_pointer self);

/// Rejects what the feed already disproves or storage remembers; tracks
/// and hands on the rest, oldest first.
void hand_on(scanner_pointer self, std::vector<deal> fresh) {
  auto& st = self->state;
  if (fresh.empty())
    return;
  std::vector<std::string> asins;
  for (auto& d : fresh)
    asins.push_back(d.asin);
  auto& ctx = st.ctx;
  self->request(ctx.storage, caf::infinite, atom::known_v, asins)
    .then(
      [self, fresh{std::move(fresh)}](std::vector<asin_memory>& mem) mutable {
        auto& st = self->state;
        auto& ctx = st.ctx;
        auto now = unix_now_ms(self, ctx);
        std::map<std::string, asin_memory> by_asin;
        for (auto& m : mem)
          by_asin.emplace(m.asin, m);
        upsert_batch free;
        std::vector<deal> keep;
        std::vector<feed_position> tracked;
        for (auto& d : fresh) {
          tracked.push_back(position_of(d));
          auto i = by_asin.find(d.asin);
          if (i != by_asin.end() && i->second.stored
              && i->second.stored_last_update >= d.last_update) {
            // Stored at this version already (a rescan after a restart).
            ++st.n.already_stored;
            free.done.push_back(position_of(d));
            continue;
          }
          auto reason = pre_reject(d, *ctx.analysis);
          if (!reason && i != by_asin.end()
              && remembered_reject(d, i->second, *ctx.analysis, now)) {
            ++st.n.remembered;
            reason = std::string{"remembered"};
          } else if (reason) {
            ++st.n.pre_rejected;
          }
          if (reason) {
            rejection_record r;
            r.asin = d.asin;
            r.where = stage::scan;
            r.reason = *reason;
            r.price_seen = d.current.size() > csv::used
                             ? d.current[csv::used]
                             : -1;
            r.at_ms = now;
            // Remembered rejections keep their original record.
            if (*reason != "remembered")
              free.rejections.push_back(std::move(r));
            free.done.push_back(position_of(d));
          } else {
            keep.push_back(std::move(d));
          }
        }
        st.n.candidates += keep.size();
        self->request(ctx.storage, caf::infinite, atom::track_v, tracked)
          .then(
            [self, free{std::move(free)},
             keep{std::move(keep)}](uint64_t) mutable {
              auto& ctx = self->state.ctx;
              if (!free.done.empty())
                self->request(ctx.storage, caf::infinite, atom::upsert_v,
                              std::move(free))
                  .then([](upsert_ack&) {},
                        [self](caf::error& err) {
                          ++self->state.n.errors;
                          stage_log(self, "storage: " + render(err));
                        });
              if (!keep.empty())
                self->request(self->state.peek, caf::infinite, atom::offer_v,
                              std::move(keep))
                  .then([self](uint64_t backlog) {
                    self->state.backlog = backlog;
                  });
            },
            [self](caf::error& err) {
              ++self->state.n.errors;
              stage_log(self, "storage: " + render(err));
            });
      },
      [self](caf::error& err) {
        ++self->state.n.errors;
        stage_log(self, "storage: " + render(err));
      });
}

void on_page(scanner_pointer self, deal_page& page) {
  auto& st = self->state;
  ++st.n.pages;
  auto full = page.deals.size() >= 150;
  // Newest first by (lastUpdate, asin), whatever order Keepa sent.
  std::sort(page.deals.begin(), page.deals.end(),
            [](const deal& x, const deal& y) {
              return position_of(y) < position_of(x);
            });
  std::vector<deal> fresh;
  bool reached = false;
  for (auto& d : page.deals) {
    auto pos = position_of(d);
    if (st.have_upto && pos <= st.pass_floor) {
      if (pos.last_update < st.pass_floor.last_update) {
        reached = true;
        break;
      }
      if (st.upto_minute.count(pos) != 0)
        continue;
    }
    ++st.n.seen;
    if (!st.pass_seen.insert(pos).second || st.resumed.count(pos) != 0) {
      ++st.n.duplicates;
      continue;
    }
    fresh.push_back(std::move(d));
  }
  if (!fresh.empty() && st.pass_newest < position_of(fresh.front()))
    st.pass_newest = position_of(fresh.front());
  st.pass_fresh.insert(st.pass_fresh.end(),
                       std::make_move_iterator(fresh.begin()),
                       std::make_move_iterator(fresh.end()));
  if (reached || !full || st.page + 1 >= limits::max_deal_pages
      || st.stopping) {
    finish_pass(self, !st.stopping);
    return;
  }
  ++st.page;
  next_page(self);
}

void next_page(scanner_pointer self) {
  deal_query q;
  q.selection = self->state.cfg.selection;
  q.page = self->state.page;
  q.sort_type = 1;
  acquire(self, stage::scan, worst_case_cost(q),
          [self, q](const token_grant& g) mutable {
            auto& st = self->state;
            if (st.stopping) {
              self->send(st.ctx.token, atom::release_v, g.grant_id);
              finish_pass(self, false);
              return;
            }
            q.grant_id = g.grant_id;
            st.in_flight = true;
            self->request(st.ctx.client, caf::infinite, atom::deal_v, q)
              .then(
                [self](deal_page& page) {
                  self->state.in_flight = false;
                  on_page(self, page);
                },
                [self](caf::error& err) {
                  auto& st = self->state;
                  st.in_flight = false;
                  if (err == ec::not_enough_tokens && !st.stopping) {
                    next_page(self); // TOKEN knows the balance now
                    return;
                  }
                  ++st.n.errors;
                  stage_log(self, "deal page " + std::to_string(st.page)
                                    + ": " + render(err));
                  finish_pass(self, false);
                });
          });
}

void start_pass(scanner_pointer self) {
  auto& st = self->state;
  if (st.scanning || st.stopping || st.asking_backlog)
    return;
  if (st.backlog > st.cfg.max_backlog) {
    // Too much was queued at the last offer; an empty offer answers how
    // much is queued now, and the pass starts once the peek-filter caught
    // up (else the next interval asks again).
    st.asking_backlog = true;
    self->request(st.peek, caf::infinite, atom::offer_v, std::vector<deal>{})
      .then(
        [self](uint64_t backlog) {
          auto& st = self->state;
          st.asking_backlog = false;
          st.backlog = backlog;
          if (backlog <= st.cfg.max_backlog)
            start_pass(self);
        },
        [self](caf::error& err) {
          auto& st = self->state;
          st.asking_backlog = false;
          ++st.n.errors;
          stage_log(self, "peek backlog: " + render(err));
        });
    return;
  }
  st.scanning = true;
  ++st.n.passes;
  st.page = 0;
  st.pass_floor = st.upto;
  st.pass_newest = st.upto;
  st.pass_seen.clear();
  st.pass_fresh.clear();
  st.resumed.erase(st.resumed.begin(), st.resumed.upper_bound(st.pass_floor));
  next_page(self);
}

/// Hands on again what the previous run tracked but did not finish. Only
/// the ASIN and lastUpdate survive a restart; the peek-filter needs no more.
void resume(scanner_pointer self, const std::vector<feed_position>& xs) {
  auto& st = self->state;
  if (xs.empty())
    return;
  std::vector<deal> again;
  for (auto& x : xs) {
    st.resumed.insert(x);
    deal d;
    d.asin = x.asin;
    d.last_update = x.last_update;
    again.push_back(std::move(d));
  }
  st.n.resumed += again.size();
  stage_log(self, "resuming " + std::to_string(again.size())
                    + " candidates the previous run did not finish");
  self->request(st.peek, caf::infinite, atom::offer_v, std::move(again))
    .then([self](uint64_t backlog) { self->state.backlog = backlog; });
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
  put("resumed", st.n.resumed);
  put("errors", st.n.errors);
  put("peek-backlog", st.backlog);
  xs.emplace("scanning", st.scanning);
  xs.emplace("upto-last-update", static_cast<int64_t>(st.upto.last_update));
  put_gate(xs, st.gate);
  return xs;
}

scanner_actor::behavior_type scanner(scanner_pointer self, stage_context ctx,
                                     scanner_config cfg,
                                     peek_filter_actor peek) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.cfg = std::move(cfg);
  st.peek = std::move(peek);
  // Resume from the durable watermark, finish what the previous run left
  // pending; then scan, and again on an interval.
  self->request(st.ctx.storage, caf::infinite, atom::watermark_v)
    .then(
      [self](feed_position& wm) {
        auto& st = self->state;
        st.upto = wm;
        st.have_upto = !(wm == feed_position{});
        self->request(st.ctx.storage, caf::infinite, atom::pending_v)
          .then(
            [self](std::vector<feed_position>& xs) {
              resume(self, xs);
              self->send(self, atom::scan_v);
            },
            [self](caf::error& err) {
              stage_log(self, "no pending positions: " + render(err));
              self->send(self, atom::scan_v);
            });
      },
      [self](caf::error& err) {
        stage_log(self, "no watermark: " + render(err));
        self->send(self, atom::scan_v);
      });
  return {
    [self](atom::scan) {
      auto& st = self->state;
      if (st.stopping)
        return;
      start_pass(self);
      self->delayed_send(self, st.cfg.interval, atom::scan_v);
    },
    [self](atom::drained) {
      self->state.backlog = 0;
      start_pass(self);
    },
    [self](atom::retry, uint64_t ticket) { on_retry(self, ticket); },
    [self](atom::stop) -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      st.stopping = true;
      if (!st.in_flight) {
        st.scanning = false;
        return caf::ok_atom::value;
      }
      st.stop_waiters.push_back(self->make_response_promise());
      return st.stop_waiters.back();
    },
    [self](atom::status) {
      auto xs = to_settings(self);
      put_mailbox(self, xs);
      return xs;
    },
  };
}

} // namespace

scanner_actor spawn_scanner(caf::actor_system& sys, stage_context ctx,
                            scanner_config cfg, peek_filter_actor peek) {
  return sys.spawn(scanner, std::move(ctx), std::move(cfg), std::move(peek));
}

} // namespace keepa
