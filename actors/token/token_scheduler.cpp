#include "actors/token/token_scheduler.hpp"

#include <algorithm>
#include <cmath>

namespace keepa {

namespace {

constexpr size_t index(stage x) {
  return static_cast<size_t>(x);
}

} // namespace

token_scheduler::token_scheduler(scheduler_policy policy) : policy_(policy) {
  totals_.consumed_by_stage.resize(num_stages);
}

void token_scheduler::set_policy(const scheduler_policy& policy) {
  policy_ = policy;
}

bool token_scheduler::updater_behind(double recent_update,
                                     double recent_other) const {
  auto total = recent_update + recent_other;
  return total <= 0 || recent_update < policy_.updater_share * total;
}

void token_scheduler::remember(bool update, int64_t cost, double& recent_update,
                               double& recent_other) {
  // Exponentially decayed token counts: about the last 50 grants matter.
  constexpr double decay = 0.98;
  recent_update *= decay;
  recent_other *= decay;
  (update ? recent_update : recent_other) += static_cast<double>(cost);
}

int64_t token_scheduler::needed(int64_t cost, bool recharging) const {
  auto& x = policy_.strategy;
  if (x.rule == token_strategy::admission::hysteresis)
    return recharging ? x.resume_at : x.stop_below;
  return std::max<int64_t>(1, policy_.floor + cost);
}

void token_scheduler::update_mode(time_point now) {
  auto& x = policy_.strategy;
  if (x.rule != token_strategy::admission::hysteresis
      || !bucket_.has_observation())
    return;
  auto balance = projected(now);
  if (balance < x.stop_below)
    recharging_ = true;
  else if (balance >= x.resume_at)
    recharging_ = false;
}

time_point token_scheduler::held_from(time_point now) const {
  if (queue_.empty() || !bucket_.has_observation())
    return time_point::max();
  if (held_)
    return held_since_;
  // The projection only rises between events: the span began when it
  // first turned positive.
  auto t = bucket_.earliest(1, outstanding_, last_event_);
  return t < now ? t : time_point::max();
}

void token_scheduler::begin_event(time_point now) {
  credit_refill(now);
  auto from = held_from(now);
  held_ = from != time_point::max();
  if (held_)
    held_since_ = from;
  last_event_ = std::max(last_event_, now);
}

void token_scheduler::end_event(time_point now, bool granted) {
  auto close = [&] {
    auto span = std::max(duration::zero(), now - held_since_);
    totals_.held_back += span;
    totals_.longest_held_back = std::max(totals_.longest_held_back,
                                         caf::timespan{span});
    held_ = false;
  };
  if (held_ && granted)
    close();
  auto affordable = !queue_.empty() && bucket_.has_observation()
    && projected(now) > 0;
  if (!affordable && held_)
    close();
  else if (affordable && !held_) {
    held_ = true;
    held_since_ = now;
  }
}

bool token_scheduler::stale(time_point now, duration max_age) const {
  if (!bucket_.has_observation())
    return true;
  auto age = now - bucket_.observed_at();
  // A rate of 0 is asked again soon: it may be a passing state (tracking
  // reduced the rate), and nothing else would ever tell.
  return age > max_age || (bucket_.rate() == 0 && age >= refill_period);
}

std::vector<const token_scheduler::entry*>
token_scheduler::process_order(std::vector<const entry*> xs,
                               const process_info& info) const {
  // The ranked stages by (rank, arrival); the updater goes first whenever
  // its share of the recently granted tokens is below its configured share
  // (or nobody else waits).
  std::vector<const entry*> others;
  std::vector<const entry*> updates;
  for (auto e : xs)
    (e->req.what == stage::update ? updates : others).push_back(e);
  std::stable_sort(others.begin(), others.end(),
                   [&](const entry* x, const entry* y) {
                     auto rx = policy_.rank[index(x->req.what)];
                     auto ry = policy_.rank[index(y->req.what)];
                     return rx != ry ? rx < ry : x->seq < y->seq;
                   });
  std::stable_sort(updates.begin(), updates.end(),
                   [](const entry* x, const entry* y) {
                     return x->seq < y->seq;
                   });
  auto recent_update = info.recent_update;
  auto recent_other = info.recent_other;
  std::vector<const entry*> result;
  result.reserve(xs.size());
  size_t oi = 0;
  size_t ui = 0;
  while (oi < others.size() || ui < updates.size()) {
    bool take_update = ui < updates.size()
      && (oi == others.size() || updater_behind(recent_update, recent_other));
    auto e = take_update ? updates[ui++] : others[oi++];
    remember(take_update, e->req.cost, recent_update, recent_other);
    result.push_back(e);
  }
  return result;
}

std::vector<const token_scheduler::entry*> token_scheduler::pick_order() const {
  static const process_info fresh;
  auto info = [&](uint64_t id) -> const process_info& {
    auto i = processes_.find(id);
    return i != processes_.end() ? i->second : fresh;
  };
  auto one = std::all_of(queue_.begin(), queue_.end(), [&](const entry& e) {
    return e.process == queue_.front().process;
  });
  if (one) {
    std::vector<const entry*> all;
    all.reserve(queue_.size());
    for (auto& e : queue_)
      all.push_back(&e);
    return all.empty()
      ? all
      : process_order(std::move(all), info(queue_.front().process));
  }
  std::map<uint64_t, std::vector<const entry*>> by_process;
  for (auto& e : queue_)
    by_process[e.process].push_back(&e);
  // Several processes: the one with the least start tag goes next (ties
  // by arrival of its next request), as if each were granted in turn.
  struct lane {
    std::vector<const entry*> xs;
    size_t next;
    process_info info;
  };
  std::vector<lane> lanes;
  for (auto& [id, xs] : by_process) {
    auto p = info(id);
    lanes.push_back(lane{process_order(std::move(xs), p), 0, p});
  }
  auto v = vtime_;
  std::vector<const entry*> result;
  result.reserve(queue_.size());
  while (result.size() < queue_.size()) {
    lane* best = nullptr;
    double best_start = 0;
    for (auto& l : lanes) {
      if (l.next == l.xs.size())
        continue;
      auto start = start_tag(l.info, v);
      if (best == nullptr || start < best_start
          || (start == best_start
              && l.xs[l.next]->seq < best->xs[best->next]->seq)) {
        best = &l;
        best_start = start;
      }
    }
    auto e = best->xs[best->next++];
    best->info.finish = finish_tag(best->info, best_start, e->req.cost);
    v = best_start;
    result.push_back(e);
  }
  return result;
}

std::vector<token_scheduler::plan_item>
token_scheduler::plan(time_point now) const {
  auto order = pick_order();
  auto& strategy = policy_.strategy;
  auto hysteresis = strategy.rule == token_strategy::admission::hysteresis;
  auto paced = strategy.min_interval > duration::zero();
  auto recharging = recharging_;
  std::vector<plan_item> result;
  result.reserve(queue_.size());
  auto spent = outstanding_;
  auto prev = time_point::min();
  // Credits (issue 22), only while several processes are active: a
  // request waits until its process's credit covers it, unless the balance
  // less the others' credits allows it anyway; a request that must wait
  // for credit does not hold up those behind it.
  auto weights = shared_weight(now);
  std::map<uint64_t, double> credits;
  if (weights > 0)
    for (auto& [id, x] : processes_)
      if (active(id, x, now))
        credits[id] = x.credit;
  auto credit_time = [&](const entry* e, time_point at) {
    auto x = processes_.find(e->process);
    if (weights == 0 || at == time_point::max() || x == processes_.end())
      return at;
    auto bound = credit_bound(x->second, weights);
    auto step = credit_step(x->second, weights);
    auto need = std::min(static_cast<double>(e->req.cost), bound);
    auto own = credits[e->process];
    if (own >= need)
      return at;
    double others = 0;
    for (auto& [id, c] : credits)
      if (id != e->process)
        others += std::max(0.0, c);
    auto free = static_cast<double>(bucket_.projected(at) - spent) - others;
    if (free >= static_cast<double>(needed(e->req.cost, recharging)))
      return at;
    if (step <= 0)
      return at;
    auto k = static_cast<int64_t>(std::ceil((need - own) / step));
    return bucket_.next_refill_after(at)
      + (std::max<int64_t>(k, 1) - 1) * refill_period;
  };
  std::vector<const entry*> deferred;
  // Processes with a request waiting for credit: their later requests wait
  // behind it (the stage order inside a process holds).
  std::vector<uint64_t> waiting_for_credit;
  auto place = [&](const entry* e, bool may_defer) {
    if (may_defer
        && std::find(waiting_for_credit.begin(), waiting_for_credit.end(),
                     e->process)
          != waiting_for_credit.end()) {
      deferred.push_back(e);
      return;
    }
    auto at = prev == time_point::max()
      ? time_point::max()
      : bucket_.earliest(needed(e->req.cost, recharging), spent, now);
    // Several processes' requests reach Keepa in any order: one that
    // leaves the balance at 0 or below may arrive before one granted
    // earlier, which then meets a 429. So while several processes are
    // active and grants are in flight, a grant due now must leave a token;
    // alone, it may use the overdraft (an answer or a refill makes it due).
    // Later times assume what is in flight is answered by then. One
    // process's client sends in the order of its grants.
    if (weights > 0 && at <= now && outstanding_ > 0
        && bucket_.projected(at) - spent - e->req.cost <= 0)
      at = bucket_.earliest(
        std::max(needed(e->req.cost, recharging), e->req.cost + 1), spent, now);
    if (at != time_point::max()) {
      // Backing off after 429s: nothing before the hold ends, then one
      // request per refill step.
      at = std::max(at, hold_until_);
      if (refusals_ > 0 && !result.empty())
        at = std::max(at, bucket_.next_refill_after(prev));
    }
    if (!result.empty() && at != time_point::max())
      at = std::max(at, prev + policy_.stagger);
    if (paced && at != time_point::max()) {
      if (!result.empty())
        at = std::max(at, prev + strategy.min_interval);
      else if (last_grant_ != time_point::min())
        at = std::max(at, last_grant_ + strategy.min_interval);
    }
    auto due = credit_time(e, at);
    if (due > at && may_defer) {
      deferred.push_back(e);
      waiting_for_credit.push_back(e->process);
      return;
    }
    at = due;
    result.push_back(plan_item{e, at});
    spent += e->req.cost;
    if (weights > 0)
      credits[e->process] -= static_cast<double>(e->req.cost);
    if (hysteresis && at != time_point::max())
      recharging = bucket_.projected(at) - spent < strategy.stop_below;
    prev = at;
  };
  for (auto e : order)
    place(e, true);
  for (auto e : deferred)
    place(e, false);
  return result;
}

token_grant token_scheduler::make_grant(const entry& e, time_point now) {
  auto cost = e.req.cost;
  auto what = e.req.what;
  credit(e.process, -static_cast<double>(cost));
  auto& p = processes_[e.process];
  p.since_step += static_cast<double>(cost);
  remember(what == stage::update, cost, p.recent_update, p.recent_other);
  auto start = start_tag(p, vtime_);
  p.finish = finish_tag(p, start, cost);
  vtime_ = start;
  p.granted += cost;
  ++p.grants;
  token_grant g;
  g.grant_id = next_grant_++;
  g.cost = cost;
  grants_.emplace(g.grant_id, grant_info{cost, what, now, e.process});
  outstanding_ += cost;
  g.projected_after = projected(now);
  totals_.granted += cost;
  ++totals_.grants;
  last_grant_ = now;
  // While 429s repeat, this grant is the one request of its refill step.
  if (refusals_ > 0)
    hold_until_ = std::max(hold_until_, bucket_.next_refill_after(now));
  update_mode(now);
  return g;
}

token_scheduler::decision token_scheduler::acquire(const token_request& req,
                                                   time_point now,
                                                   uint64_t process) {
  // The asking process is active: its credit stays.
  if (auto p = processes_.find(process); p != processes_.end())
    p->second.last_ask = now;
  begin_event(now);
  auto result = acquire_impl(req, now, process);
  end_event(now, result.granted);
  return result;
}

token_scheduler::decision
token_scheduler::acquire_impl(const token_request& req, time_point now,
                              uint64_t process) {
  tick(now);
  auto known = processes_.find(process);
  if (known == processes_.end()) {
    known = processes_.emplace(process, process_info{}).first;
    known->second.since = next_since_++;
    known->second.name = process == 0 ? "local" : std::to_string(process);
  }
  if (req.weight > 0)
    known->second.weight = req.weight;
  known->second.last_ask = now;
  update_mode(now);
  decision result;
  if (req.cost < 0) {
    result.error = ec::invalid_config;
    return result;
  }
  // A ticket counts only for the process it was handed to.
  auto i = std::find_if(queue_.begin(), queue_.end(), [&](const entry& e) {
    return req.ticket != 0 && e.ticket == req.ticket && e.process == process;
  });
  if (i == queue_.end()) {
    // New request, or a ticket that expired: join the queue at the back.
    queue_.push_back(
      entry{next_ticket_++, next_seq_++, process, req, now, false});
    i = queue_.end() - 1;
  } else {
    i->req.cost = req.cost;
    i->req.consumer = req.consumer;
  }
  // The asking process is active from now on: shares and bounds with it.
  credit_refill(now);
  auto ticket = i->ticket;
  auto drop = [&] {
    queue_.erase(
      std::find_if(queue_.begin(), queue_.end(),
                   [&](const entry& e) { return e.ticket == ticket; }));
  };
  auto wait = [&](time_point at, int64_t target, std::string reason) {
    auto& e = *std::find_if(queue_.begin(), queue_.end(),
                            [&](const entry& x) { return x.ticket == ticket; });
    e.retry_at = at;
    e.woken = false;
    result.wait.ticket = ticket;
    result.wait.retry_after = at - now;
    result.wait.needed = target;
    result.wait.reason = std::move(reason);
    ++totals_.waits;
    return result;
  };
  if (!bucket_.has_observation())
    return wait(now + policy_.no_observation_retry, needed(req.cost),
                "no balance observation yet");
  // With a rate of 0 nothing refills and there is no cap: the request
  // waits for what is there, or for a rate (the observation is re-probed).
  if (bucket_.rate() > 0 && needed(req.cost) > bucket_.cap()) {
    drop();
    result.error = ec::cost_exceeds_budget;
    return result;
  }
  auto p = plan(now);
  int64_t ahead = 0;
  for (size_t k = 0; k < p.size(); ++k) {
    if (p[k].e->ticket != ticket) {
      ahead += p[k].e->req.cost;
      continue;
    }
    if (k == 0 && p[k].at <= now) {
      auto granted = *p[k].e;
      drop();
      result.granted = true;
      result.grant = make_grant(granted, now);
      return result;
    }
    auto target = needed(req.cost) + ahead;
    if (p[k].at == time_point::max())
      return wait(now + refill_period, target,
                  "no refill: the refill rate is 0");
    if (k == 0)
      return wait(p[k].at, target,
                  refusals_ > 0 && p[k].at == hold_until_
                    ? "backing off after " + std::to_string(refusals_)
                      + " HTTP 429 in a row"
                    : std::string{"recharging"});
    std::string reason = "queued behind ";
    reason += to_string(p[0].e->req.what);
    return wait(p[k].at, target, std::move(reason));
  }
  // Unreachable: the entry is always in the plan.
  result.error = ec::unknown_ticket;
  return result;
}

token_scheduler::early token_scheduler::earlier(time_point now) {
  early result;
  credit_refill(now);
  if (queue_.empty() || !bucket_.has_observation())
    return result;
  for (auto& item : plan(now)) {
    auto e = std::find_if(queue_.begin(), queue_.end(), [&](const entry& x) {
      return x.ticket == item.e->ticket;
    });
    if (e->woken || item.at >= e->retry_at)
      continue;
    if (item.at <= now) {
      e->woken = true;
      result.due.push_back(e->ticket);
    } else {
      result.next = std::min(result.next, item.at);
    }
  }
  // A process that goes inactive leaves its credit to the others: look
  // again then.
  if (credit_weights_ > 0)
    for (auto& [id, p] : processes_)
      if (p.credit > 0 && p.last_ask != time_point::min()
          && active(id, p, now)) {
        auto until = p.last_ask + refill_period + std::chrono::milliseconds(1);
        if (until > now)
          result.next = std::min(result.next, until);
      }
  return result;
}

bool token_scheduler::queued(uint64_t ticket) const {
  return std::any_of(queue_.begin(), queue_.end(),
                     [&](const entry& e) { return e.ticket == ticket; });
}

bool token_scheduler::settle(const settlement& s, time_point now) {
  begin_event(now);
  auto result = settle_impl(s, now);
  update_mode(now);
  end_event(now, false);
  return result;
}

void token_scheduler::refused(const settlement& s, time_point now) {
  bucket_.refused(s.tokens_left, s.refill_in_ms, s.refill_rate,
                  s.server_timestamp_ms, now, s.token_flow_reduction);
  lost_accounted_ = now;
  outstanding_ -= unconfirmed_;
  unconfirmed_ = 0;
  // Requests granted before the previous 429 were sent on the same wrong
  // model: their 429s are one refusal, not several.
  auto i = grants_.find(s.grant_id);
  auto issued = i != grants_.end() ? i->second.issued : now;
  if (refusals_ == 0 || issued >= refused_at_) {
    ++refusals_;
    refused_at_ = now;
    // Wait 1, 2, 4, ... refill steps (bounded), ending at a refill step.
    auto backoff = duration{refill_period};
    for (int k = 1; k < refusals_ && backoff < policy_.refusal_backoff_max; ++k)
      backoff *= 2;
    backoff = std::min(backoff, policy_.refusal_backoff_max);
    hold_until_ = std::max(
      hold_until_, bucket_.next_refill_after(now + backoff - refill_period));
  }
}

bool token_scheduler::settle_impl(const settlement& s, time_point now) {
  account_lost(now);
  ++totals_.settlements;
  if (s.refused)
    refused(s, now);
  else if (auto g = grants_.find(s.grant_id); g != grants_.end()
           && s.server_timestamp_ms > 0 && g->second.issued >= refused_at_) {
    // A request sent after the 429s ran: the model holds again.
    refusals_ = 0;
    hold_until_ = time_point::min();
  }
  // A 429 ran nothing: it settles its grant at no cost.
  auto answered = s.server_timestamp_ms > 0 || s.refused;
  if (s.server_timestamp_ms > 0 && !s.refused
      && bucket_.observe(s.tokens_left, s.refill_in_ms, s.refill_rate,
                         s.server_timestamp_ms, now, s.token_flow_reduction)) {
    lost_accounted_ = now;
    // The newer observation already reflects every earlier unknown charge.
    outstanding_ -= unconfirmed_;
    unconfirmed_ = 0;
  }
  auto charge_unconfirmed = [&](int64_t tokens) {
    ++totals_.unconfirmed;
    unconfirmed_ += tokens;
    outstanding_ += tokens;
  };
  if (s.grant_id == 0) {
    if (!answered && s.tokens_consumed > 0)
      charge_unconfirmed(s.tokens_consumed);
    return true;
  }
  auto i = grants_.find(s.grant_id);
  if (i == grants_.end())
    return false;
  outstanding_ -= i->second.cost;
  ++totals_.settled_grants;
  auto consumed = s.refused ? 0 : answered ? s.tokens_consumed : i->second.cost;
  if (!answered)
    charge_unconfirmed(consumed);
  if (auto p = processes_.find(i->second.process); p != processes_.end())
    p->second.consumed += consumed;
  refund(i->second.process, i->second.cost - consumed);
  totals_.consumed += consumed;
  totals_.consumed_by_stage[index(i->second.what)] += consumed;
  grants_.erase(i);
  return true;
}

bool token_scheduler::release(uint64_t grant_id, time_point now) {
  begin_event(now);
  account_lost(now);
  auto i = grants_.find(grant_id);
  auto known = i != grants_.end();
  if (known) {
    outstanding_ -= i->second.cost;
    refund(i->second.process, i->second.cost);
    totals_.released += i->second.cost;
    ++totals_.released_grants;
    grants_.erase(i);
  }
  update_mode(now);
  end_event(now, false);
  return known;
}

void token_scheduler::refund(uint64_t process, int64_t tokens) {
  auto p = processes_.find(process);
  if (p == processes_.end() || tokens == 0)
    return;
  // The share counts what was charged: a grant that cost less than its
  // worst case (or nothing) moves the process's finish tag back by the
  // difference, never before V (no credit); one that cost more (Keepa
  // charged beyond the estimate) moves it forward and takes the rest from
  // its credit.
  credit(process, static_cast<double>(tokens));
  auto& x = p->second;
  x.since_step = std::max(0.0, x.since_step - static_cast<double>(tokens));
  x.finish = std::max(
    vtime_,
    x.finish - static_cast<double>(tokens) / static_cast<double>(x.weight));
}

bool token_scheduler::active(uint64_t id, const process_info& p,
                             time_point now) const {
  if (p.last_ask != time_point::min() && now - p.last_ask <= refill_period)
    return true;
  return std::any_of(queue_.begin(), queue_.end(),
                     [&](const entry& e) { return e.process == id; });
}

int64_t token_scheduler::shared_weight(time_point now) const {
  int64_t n = 0;
  int64_t weights = 0;
  for (auto& [id, p] : processes_)
    if (active(id, p, now)) {
      ++n;
      weights += p.weight;
    }
  return n > 1 ? weights : 0;
}

double token_scheduler::credit_bound(const process_info& p,
                                     int64_t weights) const {
  if (weights <= 0)
    return 0;
  return static_cast<double>(credit_steps) * credit_step(p, weights);
}

double token_scheduler::credit_step(const process_info& p,
                                    int64_t weights) const {
  if (weights <= 0)
    return 0;
  return static_cast<double>(bucket_.rate()) * static_cast<double>(p.weight)
    / static_cast<double>(weights);
}

void token_scheduler::credit_refill(time_point now) {
  // What each process was granted since the latest refill step (an
  // observation moving the phase by a little is the same step).
  if (bucket_.has_observation() && bucket_.rate() > 0) {
    auto step = bucket_.next_refill_after(now) - refill_period;
    if (step_at_ == time_point::min() || step - step_at_ > refill_period / 2
        || step_at_ - step > refill_period / 2) {
      step_at_ = step;
      for (auto& [id, p] : processes_)
        p.since_step = 0;
    }
  }
  credit_weights_ = shared_weight(now);
  std::vector<uint64_t> members;
  for (auto& [id, p] : processes_)
    if (credit_weights_ == 0 || !active(id, p, now))
      p.credit = 0;
    else
      members.push_back(id);
  auto changed = members != credit_members_;
  if (changed)
    credit_members_ = std::move(members);
  if (credit_weights_ == 0 || !bucket_.has_observation())
    return;
  auto available = static_cast<double>(bucket_.projected(now) - outstanding_);
  auto part = [&](const process_info& p) {
    return static_cast<double>(p.weight) / static_cast<double>(credit_weights_);
  };
  if (changed) {
    // Whoever joins or leaves, the refill step on hand is shared again by
    // the new weights, counting what each was granted since the step: a
    // process that starts asking after the others (a restarted server
    // hears from its clients one by one) gets its part of the step, not
    // only of the next one, and one that asked alone first is charged
    // for what it took (issue 22: a restart gave 95 % of a step to one of
    // three).
    auto pool = std::max(0.0, available);
    for (auto id : credit_members_)
      pool += processes_[id].since_step;
    for (auto id : credit_members_) {
      auto& p = processes_[id];
      p.credit = 0;
      credit(id, pool * part(p) - p.since_step);
    }
    return;
  }
  // The tokens nobody is owed (the balance less what is granted and the
  // positive credits) go to the active processes by weight: a refill step
  // as TOKEN projects it, or one an answer showed before the projection
  // did. Tying credits to the projected steps alone let the fastest asker
  // take every token the projection had not counted yet.
  double owed = 0;
  for (auto& [id, p] : processes_)
    owed += std::max(0.0, p.credit);
  auto unowned = available - owed;
  if (unowned <= 0)
    return;
  for (auto id : credit_members_)
    credit(id, unowned * part(processes_[id]));
}

void token_scheduler::credit(uint64_t process, double tokens) {
  auto p = processes_.find(process);
  if (p == processes_.end() || credit_weights_ == 0)
    return;
  auto bound = credit_bound(p->second, credit_weights_);
  p->second.credit = std::clamp(p->second.credit + tokens, -bound, bound);
}

void token_scheduler::name_process(uint64_t process, std::string name) {
  auto p = processes_.find(process);
  if (p == processes_.end()) {
    p = processes_.emplace(process, process_info{}).first;
    p->second.since = next_since_++;
  }
  p->second.name = std::move(name);
}

size_t token_scheduler::forget(uint64_t process, time_point now) {
  begin_event(now);
  auto before = queue_.size();
  queue_.erase(
    std::remove_if(queue_.begin(), queue_.end(),
                   [&](const entry& e) { return e.process == process; }),
    queue_.end());
  processes_.erase(process);
  update_mode(now);
  end_event(now, false);
  return before - queue_.size();
}

void token_scheduler::tick(time_point now) {
  account_lost(now);
  queue_.erase(std::remove_if(queue_.begin(), queue_.end(),
                              [&](const entry& e) {
                                return now > e.retry_at + policy_.ticket_grace;
                              }),
               queue_.end());
  for (auto i = grants_.begin(); i != grants_.end();) {
    if (now > i->second.issued + policy_.grant_ttl) {
      outstanding_ -= i->second.cost;
      ++totals_.expired_grants;
      i = grants_.erase(i);
    } else {
      ++i;
    }
  }
}

void token_scheduler::account_lost(time_point now) {
  if (!bucket_.has_observation() || now <= lost_accounted_) {
    lost_accounted_ = std::max(lost_accounted_, now);
    return;
  }
  auto steps = bucket_.steps_until(now) - bucket_.steps_until(lost_accounted_);
  if (steps > 0) {
    auto net = projected(lost_accounted_);
    auto unclamped = net + steps * bucket_.rate();
    auto cap = bucket_.cap();
    if (unclamped > cap)
      totals_.lost_at_cap += unclamped - std::max(cap, net);
  }
  lost_accounted_ = now;
}

token_status token_scheduler::status(time_point now) const {
  token_status st;
  st.projected = projected(now);
  st.outstanding = outstanding_;
  st.refill_rate = bucket_.rate();
  st.cap = bucket_.cap();
  st.floor = policy_.floor;
  if (!bucket_.has_observation())
    st.mode = "unknown";
  else
    st.mode = queue_.empty() ? "spending" : "recharging";
  if (bucket_.has_observation()) {
    st.next_refill = bucket_.next_refill_after(now) - now;
    st.observation_age = now - bucket_.observed_at();
  }
  int64_t ahead = 0;
  for (auto& item : plan(now)) {
    waiting_entry w;
    w.ticket = item.e->ticket;
    w.consumer = item.e->req.consumer;
    w.what = item.e->req.what;
    w.cost = item.e->req.cost;
    w.eta = item.at == time_point::max() ? caf::timespan{-1}
                                         : std::max(duration{0}, item.at - now);
    if (st.queue.empty())
      st.waiting_for = needed(w.cost);
    ahead += w.cost;
    st.queue.push_back(std::move(w));
  }
  st.totals = totals_;
  std::vector<std::pair<uint64_t, const process_info*>> ps;
  int64_t consumed = 0;
  int64_t weights = 0;
  for (auto& [id, p] : processes_) {
    ps.emplace_back(id, &p);
    consumed += p.consumed;
    weights += p.weight;
  }
  std::sort(ps.begin(), ps.end(),
            [](auto& x, auto& y) { return x.second->since < y.second->since; });
  for (auto& [id, p] : ps) {
    consumer_share c;
    c.consumer = p->name;
    c.weight = p->weight;
    c.granted = p->granted;
    c.consumed = p->consumed;
    c.grants = p->grants;
    c.waiting = static_cast<uint64_t>(
      std::count_if(queue_.begin(), queue_.end(),
                    [id = id](const entry& e) { return e.process == id; }));
    c.credit = p->credit;
    c.share = consumed > 0 ? double(p->consumed) / double(consumed) : 0.0;
    c.weight_share = double(p->weight) / double(weights);
    st.consumers.push_back(std::move(c));
  }
  auto from = held_from(now);
  if (from != time_point::max()) {
    st.totals.held_back += now - from;
    st.totals.longest_held_back = std::max(st.totals.longest_held_back,
                                           caf::timespan{now - from});
  }
  return st;
}

} // namespace keepa
