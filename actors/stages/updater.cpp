#include "actors/stages/updater.hpp"

#include <map>

#include <caf/actor_system.hpp>
#include <caf/config_value.hpp>
#include <caf/settings.hpp>

#include "actors/status.hpp"
#include "actors/client/costs.hpp"
#include "messages/keepa.hpp"
#include "messages/storage.hpp"

namespace keepa {

caf::expected<updater_config> updater_config_from(const caf::settings& opts) {
  updater_config cfg;
  namespace update = defaults::update;
  cfg.interval = caf::get_or(opts, "keepa.update.interval",
                             caf::timespan{update::interval});
  cfg.refresh_after = caf::get_or(opts, "keepa.update.refresh-after",
                                  caf::timespan{update::refresh_after});
  cfg.grace = caf::get_or(opts, "keepa.update.grace",
                          caf::timespan{update::grace});
  if (cfg.interval.count() <= 0 || cfg.refresh_after.count() <= 0
      || cfg.grace < cfg.refresh_after)
    return caf::make_error(ec::invalid_config,
                           "keepa.update: interval and refresh-after must be "
                           "positive, grace >= refresh-after");
  return cfg;
}

const char* to_string(update_phase x) {
  switch (x) {
    case update_phase::idle: return "idle";
    case update_phase::listing: return "listing";
    case update_phase::acquiring: return "acquiring";
    case update_phase::refreshing: return "refreshing";
    case update_phase::storing: return "storing";
    case update_phase::expiring: return "expiring";
  }
  return "?";
}

namespace {

int64_t ms(caf::timespan d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

/// -> idle: the round ends.
void to_idle(updater_pointer self) {
  self->state.phase = update_phase::idle;
  settle_stop(self);
}

void fail(updater_pointer self, const caf::error& err) {
  ++self->state.errors;
  stage_log(self, log_level::error, render(err));
  to_idle(self);
}

/// -> expiring: deletes deals unseen beyond the grace period, then idle.
void expire(updater_pointer self) {
  auto& st = self->state;
  st.phase = update_phase::expiring;
  auto cutoff = unix_now_ms(self, st.ctx) - ms(st.cfg.grace);
  self->request(st.ctx.storage, caf::infinite, atom::expire_v, cutoff)
    .then(
      [self](uint64_t n) {
        self->state.expired += n;
        to_idle(self);
      },
      [self](caf::error& err) { fail(self, err); });
}

void refresh(updater_pointer self, std::vector<deal_record> stale);

/// -> listing: the stalest batch (by the profile in force), refreshed;
/// repeat until none is stale.
void round(updater_pointer self) {
  auto& st = self->state;
  if (st.stop.stopping()) {
    to_idle(self);
    return;
  }
  st.phase = update_phase::listing;
  with_profile(self, [self](const profile& p) {
    auto& st = self->state;
    auto before = unix_now_ms(self, st.ctx) - ms(st.cfg.refresh_after);
    self
      ->request(st.ctx.storage, caf::infinite, atom::stalest_v,
                static_cast<uint32_t>(p.update_batch), before)
      .then(
        [self](std::vector<deal_record>& stale) {
          if (stale.empty())
            expire(self);
          else
            refresh(self, std::move(stale));
        },
        [self](caf::error& err) { fail(self, err); });
  });
}

/// The refreshed records of `stale` from `page`; deals Keepa did not
/// return are left out (they expire after the grace period). A deal whose
/// profit at its new price falls below the minimum is no longer one: it is
/// retired (its row goes, a rejection says why and from which price on).
upsert_batch refreshed(updater_pointer self, std::vector<deal_record>& stale,
                       product_page& page) {
  auto& cfg = *self->state.ctx.analysis;
  auto now = unix_now_ms(self, self->state.ctx);
  std::map<std::string, const product*> by_asin;
  for (auto& p : page.products)
    by_asin.emplace(p.asin, &p);
  upsert_batch b;
  for (auto& r : stale) {
    auto i = by_asin.find(r.asin);
    if (i == by_asin.end())
      continue;
    auto& p = *i->second;
    // At a new price the figures follow it (else the row showed the old
    // price's profit), as a sighting in the feed does.
    auto used = at(p.stats.current, csv::used);
    if (used > 0 && used != r.buy_price) {
      if (auto why = lapsed(used, r.est_sell_price, r.profit, r.all_in_cost,
                            cfg)) {
        b.rejections.push_back(rejection_record{r.asin, stage::update,
                                                to_string(why->reason), used,
                                                now, why->retry_below, true});
        continue;
      }
      if (auto x = reprice(used, r.est_sell_price, r.profit, r.all_in_cost,
                           cfg)) {
        r.all_in_cost = x->all_in_cost;
        r.profit = static_cast<int32_t>(x->profit);
        r.margin_bp = x->margin_bp;
        r.roi_bp = x->roi_bp;
      }
      r.buy_price = used;
    }
    r.sales_rank = at(p.stats.current, csv::sales_rank);
    r.last_update = p.last_update;
    r.last_seen_ms = now;
    r.written_by = write_stage::light_update;
    b.deals.push_back(std::move(r));
  }
  return b;
}

/// refreshing -> storing, then listing (next batch) or expiring.
void store(updater_pointer self, std::vector<deal_record>& stale,
           product_page& page) {
  auto& st = self->state;
  auto b = refreshed(self, stale, page);
  st.refreshed += b.deals.size();
  st.retired += b.rejections.size();
  // Deals Keepa did not return stay stale: stop the round rather than
  // asking for them again.
  auto complete = b.deals.size() + b.rejections.size() == stale.size();
  st.phase = update_phase::storing;
  self->request(st.ctx.storage, caf::infinite, atom::upsert_v, std::move(b))
    .then(
      [self, complete](upsert_ack&) {
        if (complete)
          round(self);
        else
          expire(self);
      },
      [self](caf::error& err) { fail(self, err); });
}

/// acquiring -> refreshing, or (after stop) the grant is released.
void fetch(updater_pointer self, product_query q,
           std::vector<deal_record> stale, const token_grant& g) {
  auto& st = self->state;
  if (release_after_stop(self, g)) {
    to_idle(self);
    return;
  }
  q.grant_id = g.grant_id;
  st.phase = update_phase::refreshing;
  self->request(st.ctx.client, caf::infinite, atom::product_v, q)
    .then([self, stale{std::move(stale)}](
            product_page& page) mutable { store(self, stale, page); },
          [self](caf::error& err) {
            if (err == ec::not_enough_tokens) {
              round(self);
              return;
            }
            fail(self, err);
          });
}

/// listing -> acquiring: light products (90-day stats, no history) for
/// the stale deals.
void refresh(updater_pointer self, std::vector<deal_record> stale) {
  product_query q;
  q.domain = self->state.ctx.domain;
  q.stats = "90";
  q.history = false;
  for (auto& r : stale)
    q.asins.push_back(r.asin);
  self->state.phase = update_phase::acquiring;
  acquire(self, stage::update, worst_case_cost(q),
          [self, q, stale](const token_grant& g) mutable {
            fetch(self, std::move(q), std::move(stale), g);
          });
}

/// The `stop` handler: a round waiting for tokens ends at once (its grant
/// is released when it comes); a request in flight is awaited.
caf::result<caf::ok_atom> on_stop(updater_pointer self) {
  auto& st = self->state;
  if (st.phase == update_phase::acquiring)
    st.phase = update_phase::idle;
  return request_stop(self);
}

caf::settings to_settings(updater_pointer self) {
  auto& st = self->state;
  caf::settings xs;
  xs.emplace("rounds", static_cast<int64_t>(st.rounds));
  xs.emplace("refreshed", static_cast<int64_t>(st.refreshed));
  xs.emplace("expired", static_cast<int64_t>(st.expired));
  xs.emplace("retired", static_cast<int64_t>(st.retired));
  xs.emplace("errors", static_cast<int64_t>(st.errors));
  xs.emplace("busy", st.busy());
  xs.emplace("phase", std::string{to_string(st.phase)});
  put_gate(xs, st.gate);
  put_mailbox(self, xs);
  return xs;
}

} // namespace

updater_actor::behavior_type updater(updater_pointer self, stage_context ctx,
                                     updater_config cfg) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.cfg = cfg;
  self->delayed_send(self, st.cfg.interval, atom::tick_v);
  return {
    [self](atom::tick) {
      auto& st = self->state;
      if (st.stop.stopping())
        return;
      self->delayed_send(self, st.cfg.interval, atom::tick_v);
      if (st.busy())
        return;
      ++st.rounds;
      round(self);
    },
    [self](atom::retry, uint64_t ticket) { on_retry(self, ticket); },
    [self](atom::stop) { return on_stop(self); },
    [self](atom::status) { return to_settings(self); },
  };
}

updater_actor spawn_updater(caf::actor_system& sys, stage_context ctx,
                            updater_config cfg) {
  return sys.spawn(updater, std::move(ctx), cfg);
}

} // namespace keepa
