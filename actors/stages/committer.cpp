#include "actors/stages/committer.hpp"

#include <map>

#include <caf/actor_system.hpp>
#include <caf/settings.hpp>

#include "messages/keepa.hpp"
#include "messages/pipeline.hpp"
#include "messages/storage.hpp"

namespace keepa {

product_query committer_state::make_query(committer_pointer self,
                                          const profile& p,
                                          const std::vector<survivor>& xs) {
  product_query q;
  q.domain = self->state.ctx.domain;
  q.stats = "365";
  // No rule reads the csv histories (the stats carry what the deal math
  // needs); history=0 costs the same tokens and is far less to send and
  // parse.
  q.history = false;
  q.offers = p.commit_offers;
  q.only_live_offers = true;
  for (auto& x : xs)
    q.asins.push_back(x.candidate.asin);
  return q;
}

namespace {

void store(committer_pointer self, upsert_batch b) {
  self
    ->request(self->state.ctx.storage, caf::infinite, atom::upsert_v,
              std::move(b))
    .then([self](upsert_ack& ack) { self->state.stored += ack.deals; },
          [self](caf::error& err) {
            ++self->state.errors;
            stage_log(self, log_level::error, "storage: " + render(err));
          });
}

} // namespace

void committer_state::on_products(committer_pointer self,
                                  std::vector<survivor> xs,
                                  product_page& page) {
  auto& st = self->state;
  auto now = unix_now_ms(self, st.ctx);
  std::map<std::string, const product*> by_asin;
  for (auto& p : page.products)
    by_asin.emplace(p.asin, &p);
  upsert_batch b;
  for (auto& s : xs) {
    b.done.push_back(position_of(s.candidate));
    auto i = by_asin.find(s.candidate.asin);
    commit_verdict v;
    if (i == by_asin.end())
      v.reason = rejection_reason::not_returned;
    else
      v = commit(s, *i->second, *st.ctx.analysis, now);
    if (v.record) {
      ++st.committed;
      st.profit_sum += v.record->profit;
      b.deals.push_back(std::move(*v.record));
    } else {
      ++st.rejected;
      b.rejections.push_back(
        rejection_record{s.candidate.asin, stage::commit, to_string(v.reason),
                         v.buy_price > 0 ? v.buy_price : s.buy_price, now,
                         v.retry_below, is_verdict(v.reason)});
    }
  }
  store(self, std::move(b));
}

void committer_state::on_failed(committer_pointer self,
                                std::vector<survivor> xs,
                                const caf::error& err) {
  auto now = unix_now_ms(self, self->state.ctx);
  upsert_batch b;
  for (auto& s : xs) {
    b.done.push_back(position_of(s.candidate));
    b.rejections.push_back(rejection_record{
      s.candidate.asin, stage::commit,
      failure_text(rejection_reason::commit_failed, err), INT32_MAX, now});
  }
  store(self, std::move(b));
}

committer_actor::behavior_type
committer(committer_pointer self, stage_context ctx, committer_config cfg) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.max_in_flight = cfg.max_in_flight;
  st.attempts = cfg.attempts;
  return {
    [self](atom::offer, std::vector<survivor>& xs) -> uint64_t {
      return accept(self, xs);
    },
    [self](atom::retry, uint64_t ticket) { on_retry(self, ticket); },
    [self](atom::stop) { return request_stop(self); },
    [self](atom::status) {
      auto& st = self->state;
      caf::settings xs;
      put_batches(self, xs);
      xs.emplace("committed", static_cast<int64_t>(st.committed));
      xs.emplace("rejected", static_cast<int64_t>(st.rejected));
      xs.emplace("stored", static_cast<int64_t>(st.stored));
      xs.emplace("profit-sum", st.profit_sum);
      return xs;
    },
  };
}

committer_actor spawn_committer(caf::actor_system& sys, stage_context ctx,
                                committer_config cfg) {
  return sys.spawn(committer, std::move(ctx), cfg);
}

} // namespace keepa
