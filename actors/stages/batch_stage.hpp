// The shape the PEEK-FILTER and the COMMITTER share: a queue of items
// (deals or survivors), batched by the profile, one product request per
// batch under a grant, several batches in flight. A 429 puts the batch
// back at the front (TOKEN knows the balance now); other errors retry the
// batch a bounded number of times, then record its items as failed so the
// watermark can move on.
//
// The state type provides:
//   static int32_t batch_size(const profile&);
//   template <class Self>
//   static product_query make_query(Self, const profile&,
//                                   const std::vector<Item>&);
//   static const std::string& asin_of(const Item&);
//   template <class Self>
//   static void on_products(Self, std::vector<Item>, product_page&);
//   template <class Self>
//   static void on_failed(Self, std::vector<Item>, const caf::error&);
//   static constexpr stage what;
// (Self may be the stage's own stateful pointer type) and may hide
//   int64_t priority(const Item&) const;
// (called once per offered item) to have items queued best first, ties in
// arrival order; the base's makes the queue first come, first served; and
//   int64_t value(const Item&) const;
// (called once per queued item) whose result the queue keeps beside the
// item and hands to count_while, take_if and take_back_if predicates that
// take (item, value), so a stage need not compute it again per look; and
//   template <class Self> static void on_dry(Self);
// called when the queue runs dry with nothing in flight.
//
// The gate (actors/stages/stage.hpp) is the stage's state machine towards
// TOKEN; `in_flight` counts the batches sent. A batch is sized by the
// profile the stage knows when it asks (its latest grant's); when the grant
// names another profile, the batch still takes at most the items its cost
// covered, and the next batch follows the new profile.

#pragma once

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/send.hpp>

#include "actors/status.hpp"
#include "actors/client/costs.hpp"
#include "actors/stages/stage.hpp"
#include "actors/stages/stop.hpp"

namespace keepa {

/// A batch stage's queue: best rank first, equal ranks in arrival order;
/// an item put back at the front goes before all others. Each item carries
/// a value (the stage's `value(item)`, computed once when it is queued),
/// which predicates taking (item, value) receive.
template<class Item>
class batch_queue {
public:
  bool empty() const {
    return xs_.empty();
  }

  size_t size() const {
    return xs_.size();
  }

  /// Queues `x` behind every item of at least rank `rank`.
  void push(Item x, int64_t rank, int64_t value = 0) {
    rank = std::max(rank, std::numeric_limits<int64_t>::min() + 1);
    xs_.emplace(key{-rank, ++back_}, entry{std::move(x), value});
  }

  /// Puts `x` before all others (a batch TOKEN or Keepa sent back).
  void push_front(Item x, int64_t value = 0) {
    xs_.emplace(key{std::numeric_limits<int64_t>::min(), --front_},
                entry{std::move(x), value});
  }

  Item& front() {
    return xs_.begin()->second.item;
  }

  void pop_front() {
    xs_.erase(xs_.begin());
  }

  /// Calls `f` with the first `n` items, lent (moved out and back) rather
  /// than copied; returns what `f` returns.
  template<class F>
  auto lend(size_t n, F f) {
    std::vector<Item> items;
    items.reserve(std::min(n, xs_.size()));
    auto i = xs_.begin();
    for (; items.size() < n && i != xs_.end(); ++i)
      items.push_back(std::move(i->second.item));
    auto result = f(static_cast<const std::vector<Item>&>(items));
    i = xs_.begin();
    for (auto& x : items)
      (i++)->second.item = std::move(x);
    return result;
  }

  /// Calls `f` for every item (with its value, if `f` takes it), first to
  /// last.
  template<class F>
  void each(F f) const {
    for (auto& kvp : xs_)
      test(f, kvp.second);
  }

  /// How many items from the front, at most `n`, satisfy `f`.
  template<class F>
  size_t count_while(size_t n, F f) const {
    size_t result = 0;
    for (auto i = xs_.begin();
         result < n && i != xs_.end() && test(f, i->second); ++i)
      ++result;
    return result;
  }

  /// Removes and returns at most `n` items that satisfy `f`, last to
  /// first.
  template<class F>
  std::vector<Item> take_back_if(size_t n, F f) {
    std::vector<Item> result;
    for (auto i = xs_.end(); result.size() < n && i != xs_.begin();) {
      --i;
      if (test(f, i->second)) {
        result.push_back(std::move(i->second.item));
        i = xs_.erase(i);
      }
    }
    return result;
  }

  /// Queues every item again at rank `f(item, value)`, equal ranks in
  /// their present order; items put back at the front stay there.
  template<class F>
  void rerank(F f) {
    std::map<key, entry> xs;
    int64_t n = 0;
    for (auto& [k, e] : xs_) {
      auto rank = k.first == std::numeric_limits<int64_t>::min()
        ? k.first
        : -std::max(f(std::as_const(e.item), e.value),
                    std::numeric_limits<int64_t>::min() + 1);
      xs.emplace(key{rank,
                     k.first == std::numeric_limits<int64_t>::min() ? k.second
                                                                    : ++n},
                 std::move(e));
    }
    xs_ = std::move(xs);
    back_ = n;
  }

  /// Removes and returns the items that satisfy `f`, first to last.
  template<class F>
  std::vector<Item> take_if(F f) {
    std::vector<Item> result;
    for (auto i = xs_.begin(); i != xs_.end();) {
      if (test(f, i->second)) {
        result.push_back(std::move(i->second.item));
        i = xs_.erase(i);
      } else {
        ++i;
      }
    }
    return result;
  }

private:
  /// (-rank, arrival): the front's entries have the lowest rank key and
  /// count down.
  using key = std::pair<int64_t, int64_t>;

  struct entry {
    Item item;
    int64_t value;
  };

  /// `f(item, value)` if `f` takes the value, else `f(item)`.
  template<class F>
  static auto test(F& f, const entry& e) {
    if constexpr (std::is_invocable_v<F&, const Item&, int64_t>)
      return f(e.item, e.value);
    else
      return f(e.item);
  }

  std::map<key, entry> xs_;
  int64_t back_ = 0;
  int64_t front_ = 0;
};

/// What a batch stage's state holds besides its own counters and hooks.
template<class Item>
struct batch_state_base {
  using item_type = Item;
  stage_context ctx;
  token_gate gate;
  stop_protocol stop;
  batch_queue<Item> queue;
  /// Batches sent and not answered.
  int32_t in_flight = 0;
  int32_t max_in_flight = 2;
  int32_t attempts = 3;
  /// Failed attempts per ASIN.
  std::unordered_map<std::string, int32_t> failures;
  uint64_t requests = 0;
  uint64_t items_done = 0;
  uint64_t errors = 0;

  void on_token_error(const caf::error&) {
    // A cost above the budget cannot happen with validated profiles; the
    // next offer or batch completion pumps again.
  }

  /// Nothing in flight and nothing asked.
  bool idle() const {
    return in_flight == 0 && !gate.busy();
  }

  int64_t priority(const Item&) const {
    return 0;
  }

  int64_t value(const Item&) const {
    return 0;
  }

  /// Nothing sent and no answer from TOKEN outstanding: at most a
  /// recharge-wait is pending, whose grant is then released.
  bool stoppable() const {
    return in_flight == 0 && gate.settled();
  }

  template<class Self>
  static void on_dry(Self) {
    // nop
  }

  /// Called before a batch is sized: calls `go(limit)` with the most items
  /// worth a batch now, or not at all (the stage then pumps again later).
  /// The base's: all of them, at once.
  template<class Self, class F>
  static void before_batch(Self, F go) {
    go(std::numeric_limits<size_t>::max());
  }
};

template<class Self>
void pump(Self self);

/// Ends a batch: pumps the next, settles a stop, reports a dry queue.
template<class Self>
void batch_done(Self self) {
  using state_type = std::decay_t<decltype(self->state)>;
  auto& st = self->state;
  --st.in_flight;
  pump(self);
  settle_stop(self);
  if (st.queue.empty() && st.idle())
    state_type::on_dry(self);
}

/// A batch came back 429 (not run) or failed: the items go back to the
/// front, except those out of attempts, which are recorded as failed.
template<class Self, class Item>
void batch_failed(Self self, std::vector<Item>& items, const caf::error& err) {
  using state_type = std::decay_t<decltype(self->state)>;
  auto& st = self->state;
  if (err == ec::not_enough_tokens) {
    // Not run: back to the front, ask TOKEN again.
    for (auto i = items.rbegin(); i != items.rend(); ++i) {
      auto v = st.value(*i);
      st.queue.push_front(std::move(*i), v);
    }
    return;
  }
  ++st.errors;
  stage_log(self, "product batch: " + render(err));
  std::vector<Item> failed;
  for (auto i = items.rbegin(); i != items.rend(); ++i) {
    if (++st.failures[state_type::asin_of(*i)] >= st.attempts) {
      st.failures.erase(state_type::asin_of(*i));
      failed.push_back(std::move(*i));
    } else {
      auto v = st.value(*i);
      st.queue.push_front(std::move(*i), v);
    }
  }
  if (!failed.empty())
    state_type::on_failed(self, std::move(failed), err);
}

template<class Self, class Item>
void run_batch(Self self, std::vector<Item> items, product_query q) {
  using state_type = std::decay_t<decltype(self->state)>;
  auto& st = self->state;
  ++st.in_flight;
  ++st.requests;
  // One of the two handlers runs; they share the items rather than each
  // holding a copy of the whole batch.
  auto batch = std::make_shared<std::vector<Item>>(std::move(items));
  self->request(st.ctx.client, caf::infinite, atom::product_v, std::move(q))
    .then(
      [self, batch](product_page& page) {
        auto& items = *batch;
        auto& st = self->state;
        st.items_done += items.size();
        for (auto& x : items)
          st.failures.erase(state_type::asin_of(x));
        state_type::on_products(self, std::move(items), page);
        batch_done(self);
      },
      [self, batch](caf::error& err) {
        batch_failed(self, *batch, err);
        batch_done(self);
      });
}

/// Sends the next batch under grant `g`: at most `n` items (what the grant
/// covers, whatever profile it names), the first ones of the queue now.
template<class Self>
void start_batch(Self self, size_t n, product_query q, const token_grant& g) {
  using state_type = std::decay_t<decltype(self->state)>;
  auto& st = self->state;
  if (release_after_stop(self, g)) {
    settle_stop(self);
    return;
  }
  // The queue may have changed while waiting; take the first n.
  auto k = std::min(n, st.queue.size());
  std::vector<typename state_type::item_type> items;
  items.reserve(k);
  for (size_t i = 0; i < k; ++i) {
    items.push_back(std::move(st.queue.front()));
    st.queue.pop_front();
  }
  if (items.empty()) {
    self->send(st.ctx.token, atom::release_v, g.grant_id);
    return;
  }
  q.asins.clear();
  for (auto& x : items)
    q.asins.push_back(state_type::asin_of(x));
  q.grant_id = g.grant_id;
  run_batch(self, std::move(items), std::move(q));
  pump(self);
}

/// Sizes the next batch by `p`, at most `limit` items, and asks TOKEN for
/// its cost.
template<class Self>
void size_batch(Self self, const profile& p, size_t limit) {
  using state_type = std::decay_t<decltype(self->state)>;
  auto& st = self->state;
  if (st.queue.empty() || limit == 0) {
    settle_stop(self);
    return;
  }
  auto n = std::min(
    {st.queue.size(), limit, static_cast<size_t>(state_type::batch_size(p))});
  // make_query only reads the items.
  auto q = st.queue.lend(n, [&](const auto& items) {
    return state_type::make_query(self, p, items);
  });
  acquire(self, state_type::what, worst_case_cost(q),
          [self, n, q](const token_grant& g) mutable {
            start_batch(self, n, std::move(q), g);
          });
}

/// Starts the next batch if the gate is free, items wait and fewer than
/// `max_in_flight` batches are in flight.
template<class Self>
void pump(Self self) {
  auto& st = self->state;
  if (st.gate.busy() || st.queue.empty() || st.in_flight >= st.max_in_flight)
    return;
  using state_type = std::decay_t<decltype(self->state)>;
  state_type::before_batch(self, [self](size_t limit) {
    auto& st = self->state;
    if (st.gate.busy() || st.queue.empty())
      return;
    with_profile(self, [self, limit](const profile& p) {
      size_batch(self, p, limit);
    });
  });
}

/// Queues `x` behind every item of at least its priority.
template<class State, class Item>
void enqueue(State& st, Item x) {
  auto rank = st.priority(x);
  auto v = st.value(x);
  st.queue.push(std::move(x), rank, v);
}

/// Accepts offered items; answers the backlog.
template<class Self, class Item>
uint64_t accept(Self self, std::vector<Item>& xs) {
  auto& st = self->state;
  for (auto& x : xs)
    enqueue(st, std::move(x));
  pump(self);
  return st.queue.size();
}

template<class Self>
void put_batches(Self self, caf::settings& xs) {
  auto& st = self->state;
  xs.emplace("queued", static_cast<int64_t>(st.queue.size()));
  xs.emplace("in-flight", static_cast<int64_t>(st.in_flight));
  xs.emplace("requests", static_cast<int64_t>(st.requests));
  xs.emplace("errors", static_cast<int64_t>(st.errors));
  put_gate(xs, st.gate);
  put_mailbox(self, xs);
}

} // namespace keepa
