#include "actors/stages/peek_filter.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <caf/actor_system.hpp>
#include <caf/settings.hpp>

#include "messages/keepa.hpp"
#include "messages/pipeline.hpp"
#include "messages/storage.hpp"

namespace keepa {

int64_t peek_state::estimate(const deal& d) const {
  auto e = deal_profit_estimate(d, *ctx.analysis);
  return e ? int64_t{*e} : value_gate::unknown;
}

value_gate::bin_id peek_state::bin(const deal& d) const {
  auto now = at(d.current, csv::sales_rank);
  auto avg = at(d.avg90, csv::sales_rank);
  return value_gate::bin_of(estimate(d), now > 0 && avg > 0 && now < avg);
}

uint64_t peek_state::worth_backlog() const {
  if (!values.config().enabled || bar <= 0)
    return queue.size();
  uint64_t n = 0;
  queue.each([&](const deal&, int64_t v) { n += worth(v); });
  return n;
}

namespace {

/// The queue's rank of a candidate of `estimate` whose pass rate is learned
/// as `pass_rate`: the rate first (to a millionth), then the estimate.
int64_t rank_of(double pass_rate, int64_t estimate) {
  constexpr int64_t span = int64_t{1} << 32;
  auto e = estimate == value_gate::unknown
    ? 0
    : std::clamp<int64_t>(estimate, -span / 2, span / 2 - 1);
  auto p = static_cast<int64_t>(std::llround(pass_rate * 1e6));
  return p * span + e;
}

} // namespace

int64_t peek_state::priority(const deal& d) const {
  auto e = estimate(d);
  if (!values.config().enabled)
    return e == value_gate::unknown ? 0 : e;
  return rank_of(values.value(bin(d)), e);
}

void peek_state::rerank() {
  queue.rerank([this](const deal& d, int64_t v) {
    return rank_of(values.value(bin_of_value(v)), estimate(d));
  });
}

caf::expected<peek_filter_config>
peek_filter_config_from(const caf::settings& opts) {
  peek_filter_config cfg;
  auto& g = cfg.gate;
  g.enabled = caf::get_or(opts, "keepa.peek.value-gate", g.enabled);
  g.skip_hopeless = caf::get_or(opts, "keepa.peek.skip-hopeless",
                                g.skip_hopeless);
  g.horizon = caf::get_or(opts, "keepa.peek.value-horizon", g.horizon);
  g.max_wait = caf::get_or(opts, "keepa.peek.max-wait", g.max_wait);
  g.horizon_tokens = caf::get_or(opts, "keepa.peek.value-horizon-tokens",
                                 g.horizon_tokens);
  if (g.horizon_tokens <= 0)
    return caf::make_error(ec::invalid_config,
                           "keepa.peek.value-horizon-tokens must be positive");
  if (g.horizon.count() <= 0)
    return caf::make_error(ec::invalid_config,
                           "keepa.peek.value-horizon must be positive");
  if (g.max_wait.count() <= 0)
    return caf::make_error(ec::invalid_config,
                           "keepa.peek.max-wait must be positive");
  return cfg;
}

product_query peek_state::query(const profile& p) const {
  product_query q;
  q.domain = ctx.domain;
  q.stats = cfg.stats;
  q.history = false;
  // offers=0 is refused by Keepa: 0 means the parameter is omitted.
  q.offers = p.peek_offers;
  return q;
}

product_query peek_state::make_query(peek_pointer self, const profile& p,
                                     const std::vector<deal>& xs) {
  auto q = self->state.query(p);
  for (auto& x : xs)
    q.asins.push_back(x.asin);
  return q;
}

namespace {

/// Stores the rejections `rs` of the deals `xs`; their positions are done.
void reject_all(peek_pointer self, const std::vector<deal>& xs,
                std::vector<rejection_record> rs) {
  auto& st = self->state;
  upsert_batch b;
  b.rejections = std::move(rs);
  for (auto& d : xs)
    b.done.push_back(position_of(d));
  self->request(st.ctx.storage, caf::infinite, atom::upsert_v, std::move(b))
    .then([](upsert_ack&) {},
          [self](caf::error& err) {
            ++self->state.errors;
            stage_log(self, log_level::error, "storage: " + render(err));
          });
}

/// The verdict on the candidate `d`, whose light product is `p` (nullptr
/// when Keepa did not return it).
peek_verdict verdict_of(peek_pointer self, const product* p) {
  peek_verdict v;
  if (p == nullptr)
    v.reason = rejection_reason::not_returned;
  else
    v = peek(*p, *self->state.ctx.analysis);
  return v;
}

rejection_record rejection_of(const deal& d, const peek_verdict& v,
                              int64_t now) {
  rejection_record r;
  r.asin = d.asin;
  r.where = stage::peek;
  r.reason = to_string(v.reason);
  r.price_seen = v.buy_price > 0 ? v.buy_price : at(d.current, csv::used);
  r.at_ms = now;
  r.retry_below = v.retry_below;
  r.retires = is_verdict(v.reason);
  return r;
}

} // namespace

namespace {

/// Reorders `xs` as `sort(first, last, greater)` leaves them when `greater`
/// compares `key(x) > key(y)`, computing each key once instead of at every
/// comparison (a priority estimates the deal's profit twice), and moving
/// each deal once. The same comparisons give the same order as sorting the
/// deals themselves.
template<class Key, class Sort>
void order_by_key(std::vector<deal>& xs, Key key, Sort sort) {
  using key_type = decltype(key(xs.front()));
  std::vector<std::pair<key_type, size_t>> keys;
  keys.reserve(xs.size());
  for (size_t i = 0; i < xs.size(); ++i)
    keys.emplace_back(key(xs[i]), i);
  sort(keys.begin(), keys.end(),
       [](const auto& x, const auto& y) { return x.first > y.first; });
  std::vector<deal> out;
  out.reserve(xs.size());
  for (auto& k : keys)
    out.push_back(std::move(xs[k.second]));
  xs = std::move(out);
}

/// Records the candidates `xs` as rejected below the value bar (at the
/// highest price, so the memory never holds a later version back), their
/// positions done.
void below_bar(peek_pointer self, const std::vector<deal>& xs, int64_t now) {
  auto& st = self->state;
  std::vector<rejection_record> rs;
  for (auto& d : xs) {
    ++st.reasons[rejection_reason::below_value_bar];
    rs.push_back(rejection_record{d.asin, stage::peek,
                                  to_string(rejection_reason::below_value_bar),
                                  INT32_MAX, now});
  }
  reject_all(self, xs, std::move(rs));
}

/// Lets go of the candidates below the bar whose deals are older than
/// `max_wait` (counted from the start for those listed before), and of the
/// worst below the bar beyond `max_queue`: recorded as rejected (at the
/// highest price, so the memory never holds a later version back), their
/// positions done, and kept as spare for tokens nothing better wants.
void let_go(peek_pointer self) {
  auto& st = self->state;
  // At a bar of 0 every candidate is worth a token: none is below it.
  if (st.bar <= 0)
    return;
  auto now = unix_now_ms(self, st.ctx);
  auto max_wait = st.max_wait_ms();
  auto below = [&](const deal&, int64_t v) { return !st.worth(v); };
  auto old = st.queue.take_if([&](const deal& d, int64_t v) {
    auto since = std::max(unix_ms_from_keepa_minute(d.last_update),
                          st.started_ms);
    return below(d, v) && now - since > max_wait;
  });
  // Beyond max_queue, the worst below the bar go too.
  auto max_queue = st.values.config().max_queue;
  if (st.queue.size() > max_queue)
    for (auto& d : st.queue.take_back_if(st.queue.size() - max_queue, below))
      old.push_back(std::move(d));
  if (old.empty())
    return;
  below_bar(self, old, now);
  // A skipped bin's candidates (some are admitted to explore it) are no
  // spare for tokens nothing better wants.
  for (auto& d : old)
    if (!st.values.skips(st.bin(d).index))
      st.add_spare(std::move(d));
}

/// Lets go of the queued and spare candidates of skipped bins, once more
/// bins are skipped than at the last look.
void sweep_skipped(peek_pointer self) {
  auto& st = self->state;
  auto n = st.values.skipped_bins();
  if (n <= st.skipped_bins) {
    st.skipped_bins = n;
    return;
  }
  st.skipped_bins = n;
  auto old = st.queue.take_if([&](const deal&, int64_t v) {
    return st.values.skips(peek_state::bin_of_value(v).index);
  });
  auto skipped = [&](const deal& d) {
    return st.values.skips(st.bin(d).index);
  };
  st.trim_spare();
  st.spare.erase(std::remove_if(st.spare.begin(), st.spare.end(), skipped),
                 st.spare.end());
  st.spare_sorted = 0;
  if (!old.empty())
    below_bar(self, old, unix_now_ms(self, st.ctx));
}

/// Looks again after `d` (once, however often asked).
void look_later(peek_pointer self, caf::timespan d) {
  auto& st = self->state;
  if (st.look_pending)
    return;
  st.look_pending = true;
  self->delayed_send(self, d, atom::retry_v, peek_state::look_ticket);
}

} // namespace

void peek_state::add_spare(deal d) {
  spare.push_back(std::move(d));
  if (spare.size() > max_spare() + max_spare() / spare_slack)
    trim_spare();
}

void peek_state::trim_spare() {
  auto most = max_spare();
  if (spare.size() <= most)
    return;
  // The newest deals stay: an old one has more likely changed.
  auto newer = [](const deal& x, const deal& y) {
    return x.last_update > y.last_update;
  };
  auto mid = spare.begin() + static_cast<ptrdiff_t>(spare_sorted);
  std::stable_sort(mid, spare.end(), newer);
  std::inplace_merge(spare.begin(), mid, spare.end(), newer);
  spare.resize(most);
  spare_sorted = most;
}

template<class F>
void peek_state::before_batch(peek_pointer self, F go) {
  auto& st = self->state;
  if (!st.values.config().enabled) {
    go(std::numeric_limits<size_t>::max());
    return;
  }
  st.gate.state = token_gate::phase::sizing;
  self->request(st.ctx.token, caf::infinite, atom::snapshot_v)
    .then(
      [self, go](token_status& ts) mutable {
        auto& st = self->state;
        st.gate.state = token_gate::phase::idle;
        auto now = self->clock().now();
        // What the other stages leave of the income counts, not only the
        // balance they keep near 0.
        int64_t others = 0;
        int64_t peeks = 0;
        auto& by_stage = ts.totals.consumed_by_stage;
        for (size_t i = 0; i < by_stage.size(); ++i)
          (i == static_cast<size_t>(stage::peek) ? peeks : others)
            += by_stage[i];
        st.values.spent(ts.refill_rate, others, peeks, st.peeked, now);
        auto spent_on = [&](stage x) {
          auto i = static_cast<size_t>(x);
          return i < by_stage.size() ? by_stage[i] : int64_t{0};
        };
        st.values.paid(spent_on(stage::scan), spent_on(stage::commit),
                       st.survived, now);
        st.bar = st.values.bar(ts.projected, ts.refill_rate, now);
        sweep_skipped(self);
        // At a bar of 0 every candidate is worth a token (no walk).
        auto worth = [&](const deal&, int64_t v) { return st.worth(v); };
        auto all = std::numeric_limits<size_t>::max();
        auto n = st.bar <= 0 ? st.queue.size()
                             : st.queue.count_while(all, worth);
        if (n < st.queue.size() && n < st.worth_backlog()) {
          st.rerank();
          n = st.queue.count_while(all, worth);
        }
        if (n > 0) {
          // Worth-while ones keep coming: the queue is kept within bounds
          // all the same, so the scanner reads on.
          if (st.queue.size() > st.values.config().max_queue)
            let_go(self);
          go(n);
          return;
        }
        // Nothing is worth a token now: the balance grows, or better
        // candidates arrive (an offer pumps at once).
        ++st.held;
        let_go(self);
        auto wait = ts.next_refill > caf::timespan::zero()
          ? ts.next_refill
          : caf::timespan{std::chrono::minutes{1}};
        if (!st.queue.empty())
          look_later(self, wait);
        settle_stop(self);
        if (st.queue.empty() && st.idle())
          on_dry(self);
      },
      [self](caf::error& err) { on_gate_error(self, err); });
}

void peek_state::on_products(peek_pointer self, std::vector<deal> xs,
                             product_page& page) {
  auto& st = self->state;
  auto now = unix_now_ms(self, st.ctx);
  std::map<std::string, product*> by_asin;
  for (auto& p : page.products)
    by_asin.emplace(p.asin, &p);
  std::vector<survivor> survivors;
  std::vector<rejection_record> rs;
  std::vector<deal> rejected;
  for (auto& d : xs) {
    ++st.peeked;
    auto i = by_asin.find(d.asin);
    auto v = verdict_of(self, i == by_asin.end() ? nullptr : i->second);
    if (!st.stale_at(d, now))
      st.values.outcome(st.bin(d), v.viable);
    if (v.viable) {
      ++st.survived;
      survivor s;
      s.candidate = std::move(d);
      s.light = std::move(*i->second);
      s.buy_price = v.buy_price;
      s.est_sell_price = v.est_sell_price;
      survivors.push_back(std::move(s));
      continue;
    }
    ++st.rejected;
    ++st.reasons[v.reason];
    rs.push_back(rejection_of(d, v, now));
    rejected.push_back(std::move(d));
  }
  if (!rejected.empty())
    reject_all(self, rejected, std::move(rs));
  if (!survivors.empty())
    self
      ->request(st.committer, caf::infinite, atom::offer_v,
                std::move(survivors))
      .then([](uint64_t) {});
}

void peek_state::on_failed(peek_pointer self, std::vector<deal> xs,
                           const caf::error& err) {
  // Recorded so the watermark moves on. The price is recorded as the
  // highest possible, so the rejection memory never blocks a retry.
  auto now = unix_now_ms(self, self->state.ctx);
  std::vector<rejection_record> rs;
  for (auto& d : xs) {
    ++self->state.reasons[rejection_reason::peek_failed];
    rs.push_back(rejection_record{
      d.asin, stage::peek, failure_text(rejection_reason::peek_failed, err),
      INT32_MAX, now});
  }
  reject_all(self, xs, std::move(rs));
}

void peek_state::on_dry(peek_pointer self) {
  auto& st = self->state;
  if (st.upstream)
    self->send(st.upstream, atom::drained_v);
  // At a bar of 0 nothing better waits for the tokens: the likeliest of
  // those let go at the cap go again before the tokens pile up.
  if (st.bar <= 0 && !st.spare.empty()) {
    st.trim_spare();
    auto n = std::min(st.spare.size(), spare_batch);
    order_by_key(
      st.spare, [&st](const deal& d) { return st.priority(d); },
      [n](auto first, auto last, auto higher) {
        std::partial_sort(first, first + n, last, higher);
      });
    std::vector<deal> xs(std::make_move_iterator(st.spare.begin()),
                         std::make_move_iterator(st.spare.begin() + n));
    st.spare.erase(st.spare.begin(), st.spare.begin() + n);
    st.spare_sorted = 0;
    accept(self, xs);
  }
}

namespace {

/// The value gate's bar and what it learned, per estimate bin: "unknown",
/// "below-0", "0-200", ... (cents of feed-side profit estimate).
void put_values(caf::settings& xs, const peek_state& st) {
  auto& g = st.values;
  xs.emplace("value-gate", g.config().enabled);
  xs.emplace("skip-hopeless", g.config().skip_hopeless);
  xs.emplace("value-bar", st.bar);
  xs.emplace("held-for-value", static_cast<int64_t>(st.held));
  xs.emplace("spare",
             static_cast<int64_t>(std::min(st.spare.size(), st.max_spare())));
  caf::settings bins;
  for (size_t i = 0; i < value_gate::num_bins; ++i) {
    auto name = value_gate::bin_name(i);
    auto& b = g.bins()[i];
    caf::settings x;
    x.emplace("peeked", static_cast<int64_t>(b.peeked));
    x.emplace("passed", static_cast<int64_t>(b.passed));
    x.emplace("pass-rate", g.bin_value(i));
    x.emplace("hopeless", g.hopeless(i));
    x.emplace("hopeless-arrivals", static_cast<int64_t>(b.hopeless_arrivals));
    bins.emplace(name, std::move(x));
  }
  xs.emplace("learned", std::move(bins));
}

caf::settings to_settings(peek_pointer self) {
  auto& st = self->state;
  caf::settings xs;
  put_batches(self, xs);
  xs.emplace("peeked", static_cast<int64_t>(st.peeked));
  xs.emplace("survived", static_cast<int64_t>(st.survived));
  xs.emplace("rejected", static_cast<int64_t>(st.rejected));
  put_values(xs, st);
  caf::settings reasons;
  for (auto& kvp : st.reasons)
    reasons.emplace(std::string{to_string(kvp.first)},
                    static_cast<int64_t>(kvp.second));
  xs.emplace("reasons", std::move(reasons));
  return xs;
}

} // namespace

peek_filter_actor::behavior_type
peek_filter(peek_pointer self, stage_context ctx, peek_filter_config cfg,
            committer_actor committer) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.cfg = std::move(cfg);
  st.max_in_flight = st.cfg.max_in_flight;
  st.attempts = st.cfg.attempts;
  st.committer = std::move(committer);
  st.values = value_gate{st.cfg.gate};
  st.started_ms = unix_now_ms(self, st.ctx);
  return {
    [self](atom::offer, std::vector<deal>& xs) -> uint64_t {
      auto& st = self->state;
      auto now = self->clock().now();
      // Those admitted stay in `xs`, in order; nothing moves while no bin
      // is skipped.
      std::vector<deal> skipped;
      auto kept = xs.begin();
      for (auto i = xs.begin(); i != xs.end(); ++i) {
        auto b = st.bin(*i);
        st.values.arrived(b, now);
        if (!st.values.admit(b)) {
          skipped.push_back(std::move(*i));
          continue;
        }
        if (kept != i)
          *kept = std::move(*i);
        ++kept;
      }
      xs.erase(kept, xs.end());
      if (!skipped.empty())
        below_bar(self, skipped, unix_now_ms(self, st.ctx));
      accept(self, xs);
      return st.worth_backlog();
    },
    [self](atom::backlog) -> uint64_t { return self->state.worth_backlog(); },
    [self](atom::upstream, scanner_actor& up) {
      self->state.upstream = std::move(up);
    },
    [self](atom::retry, uint64_t ticket) {
      if (ticket == peek_state::look_ticket) {
        self->state.look_pending = false;
        pump(self);
        return;
      }
      on_retry(self, ticket);
    },
    [self](atom::stop) { return request_stop(self); },
    [self](atom::status) { return to_settings(self); },
  };
}

peek_filter_actor spawn_peek_filter(caf::actor_system& sys, stage_context ctx,
                                    peek_filter_config cfg,
                                    committer_actor committer) {
  return sys.spawn(peek_filter, std::move(ctx), std::move(cfg),
                   std::move(committer));
}

} // namespace keepa
