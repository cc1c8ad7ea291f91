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

namespace {

struct updater_state {
  static constexpr const char* name = "updater";

  stage_context ctx;
  updater_config cfg;
  token_gate gate;
  bool busy = false;
  bool stopping = false;
  std::vector<caf::response_promise> stop_waiters;
  uint64_t rounds = 0;
  uint64_t refreshed = 0;
  uint64_t expired = 0;
  uint64_t errors = 0;

  void on_token_error(const caf::error&) {
    busy = false;
  }
};

using updater_pointer = updater_actor::stateful_pointer<updater_state>;

int64_t ms(caf::timespan d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

void idle(updater_pointer self) {
  auto& st = self->state;
  st.busy = false;
  if (st.stopping) {
    for (auto& rp : st.stop_waiters)
      rp.deliver(caf::ok_atom::value);
    st.stop_waiters.clear();
  }
}

void fail(updater_pointer self, const caf::error& err) {
  ++self->state.errors;
  stage_log(self, render(err));
  idle(self);
}

/// Deletes deals unseen beyond the grace period, then rests.
void expire(updater_pointer self) {
  auto& st = self->state;
  auto cutoff = unix_now_ms(self, st.ctx) - ms(st.cfg.grace);
  self->request(st.ctx.storage, caf::infinite, atom::expire_v, cutoff)
    .then(
      [self](uint64_t n) {
        self->state.expired += n;
        idle(self);
      },
      [self](caf::error& err) { fail(self, err); });
}

void refresh(updater_pointer self, std::vector<deal_record> stale,
             const profile& p);

/// One round: the stalest batch, refreshed; repeat until none is stale.
void round(updater_pointer self) {
  auto& st = self->state;
  if (st.stopping) {
    idle(self);
    return;
  }
  with_profile(self, [self](const profile& p) {
    auto& st = self->state;
    auto before = unix_now_ms(self, st.ctx) - ms(st.cfg.refresh_after);
    self->request(st.ctx.storage, caf::infinite, atom::stalest_v,
                  static_cast<uint32_t>(p.update_batch), before)
      .then(
        [self, p](std::vector<deal_record>& stale) {
          if (stale.empty())
            expire(self);
          else
            refresh(self, std::move(stale), p);
        },
        [self](caf::error& err) { fail(self, err); });
  });
}

void refresh(updater_pointer self, std::vector<deal_record> stale,
             const profile&) {
  product_query q;
  q.domain = self->state.ctx.domain;
  q.stats = "90";
  q.history = false;
  for (auto& r : stale)
    q.asins.push_back(r.asin);
  acquire(self, stage::update, worst_case_cost(q),
          [self, q, stale](const token_grant& g) mutable {
            auto& st = self->state;
            if (st.stopping) {
              self->send(st.ctx.token, atom::release_v, g.grant_id);
              idle(self);
              return;
            }
            q.grant_id = g.grant_id;
            self->request(st.ctx.client, caf::infinite, atom::product_v, q)
              .then(
                [self, stale](product_page& page) mutable {
                  auto& st = self->state;
                  auto now = unix_now_ms(self, st.ctx);
                  std::map<std::string, const product*> by_asin;
                  for (auto& p : page.products)
                    by_asin.emplace(p.asin, &p);
                  upsert_batch b;
                  for (auto& r : stale) {
                    auto i = by_asin.find(r.asin);
                    if (i == by_asin.end())
                      continue; // gone: expires after the grace period
                    auto& p = *i->second;
                    auto used = at(p.stats.current, csv::used);
                    if (used > 0)
                      r.buy_price = used;
                    r.sales_rank = at(p.stats.current, csv::sales_rank);
                    r.last_update = p.last_update;
                    r.last_seen_ms = now;
                    r.written_by = write_stage::light_update;
                    b.deals.push_back(std::move(r));
                  }
                  st.refreshed += b.deals.size();
                  // Deals Keepa did not return stay stale: stop the round
                  // rather than asking for them again.
                  auto complete = b.deals.size() == stale.size();
                  self->request(st.ctx.storage, caf::infinite,
                                atom::upsert_v, std::move(b))
                    .then(
                      [self, complete](upsert_ack&) {
                        if (complete)
                          round(self);
                        else
                          expire(self);
                      },
                          [self](caf::error& err) { fail(self, err); });
                },
                [self](caf::error& err) {
                  if (err == ec::not_enough_tokens) {
                    round(self);
                    return;
                  }
                  fail(self, err);
                });
          });
}

updater_actor::behavior_type updater(updater_pointer self, stage_context ctx,
                                     updater_config cfg) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.cfg = cfg;
  self->delayed_send(self, st.cfg.interval, atom::tick_v);
  return {
    [self](atom::tick) {
      auto& st = self->state;
      if (st.stopping)
        return;
      self->delayed_send(self, st.cfg.interval, atom::tick_v);
      if (st.busy)
        return;
      st.busy = true;
      ++st.rounds;
      round(self);
    },
    [self](atom::retry, uint64_t ticket) { on_retry(self, ticket); },
    [self](atom::stop) -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      st.stopping = true;
      if (!st.busy || (st.gate.busy && st.gate.req.ticket != 0)) {
        st.busy = false;
        return caf::ok_atom::value;
      }
      st.stop_waiters.push_back(self->make_response_promise());
      return st.stop_waiters.back();
    },
    [self](atom::status) {
      auto& st = self->state;
      caf::settings xs;
      xs.emplace("rounds", static_cast<int64_t>(st.rounds));
      xs.emplace("refreshed", static_cast<int64_t>(st.refreshed));
      xs.emplace("expired", static_cast<int64_t>(st.expired));
      xs.emplace("errors", static_cast<int64_t>(st.errors));
      xs.emplace("busy", st.busy);
      put_gate(xs, st.gate);
      put_mailbox(self, xs);
      return xs;
    },
  };
}

} // namespace

updater_actor spawn_updater(caf::actor_system& sys, stage_context ctx,
                            updater_config cfg) {
  return sys.spawn(updater, std::move(ctx), cfg);
}

} // namespace keepa
