// Typed stand-ins of the actors a stage talks to: TOKEN, the KEEPA CLIENT,
// STORAGE, and the neighbouring stages. Each implements the real interface
// of messages/actors.hpp, records what it receives and answers what its
// state scripts; tests read and change that state through
// caf::actor_cast<...::stateful_pointer<...>> between scheduler runs.

#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/settings.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/stages/stage.hpp"
#include "config/profile.hpp"
#include "messages/actors.hpp"
#include "messages/error.hpp"
#include "messages/keepa.hpp"
#include "messages/pipeline.hpp"
#include "messages/storage.hpp"
#include "messages/token.hpp"
#include "tests/support/fixture.hpp"

namespace keepa::test {

/// The state of a stand-in or stage behind `hdl`.
template<class State, class Handle>
State& state_of(const Handle& hdl) {
  using pointer = typename Handle::template stateful_pointer<State>;
  return caf::actor_cast<pointer>(hdl)->state;
}

// -- TOKEN -------------------------------------------------------------------

/// A recharge-wait for the script of the TOKEN stand-in.
inline token_reply wait_for(caf::timespan retry_after, uint64_t ticket = 7) {
  return recharge_wait{ticket, retry_after, 0, "recharging"};
}

/// A grant for the script; the stand-in fills in id, cost and profile.
inline token_reply grant() {
  return token_grant{};
}

struct token_stand_in_state {
  static constexpr const char* name = "token-stand-in";

  /// Answers to `acquire`, in order; once used up, everything is granted.
  std::deque<token_reply> script;
  /// The profile snapshots and grants name.
  std::string profile;
  /// Answers `acquire` this much later (virtual time); 0 answers at once.
  caf::timespan latency{0};
  /// Answers waiting for their latency, by id.
  std::map<uint64_t, std::function<void()>> held;
  uint64_t next_held = 1;
  uint64_t next_grant = 1;
  std::vector<token_request> acquires;
  std::vector<token_grant> grants;
  std::vector<uint64_t> releases;
  size_t snapshots = 0;
};

using token_stand_in_actor
  = token_actor::stateful_pointer<token_stand_in_state>;

/// The next scripted answer to `req`.
inline token_reply scripted(token_stand_in_actor self,
                            const token_request& req) {
  auto& st = self->state;
  token_reply r = token_grant{};
  if (!st.script.empty()) {
    r = std::move(st.script.front());
    st.script.pop_front();
  }
  if (auto* g = caf::get_if<token_grant>(&r)) {
    g->grant_id = st.next_grant++;
    g->cost = req.cost;
    g->profile = st.profile;
    st.grants.push_back(*g);
  }
  return r;
}

inline token_actor::behavior_type token_stand_in(token_stand_in_actor self,
                                                 std::string profile) {
  self->state.profile = std::move(profile);
  return {
    [self](atom::acquire,
           const token_request& req) -> caf::result<token_reply> {
      auto& st = self->state;
      st.acquires.push_back(req);
      if (st.latency.count() == 0)
        return scripted(self, req);
      auto rp = self->make_response_promise<token_reply>();
      auto id = st.next_held++;
      st.held.emplace(id, [self, rp, req]() mutable {
        rp.deliver(scripted(self, req));
      });
      // Stages never settle (the client does): a settle addressed to
      // itself serves the stand-in as its timer.
      settlement timer;
      timer.grant_id = id;
      self->delayed_send(self, st.latency, atom::settle_v, timer);
      // As const: a token_reply (a variant) would take the promise itself.
      return std::as_const(rp);
    },
    [self](atom::settle, const settlement& s) {
      auto& held = self->state.held;
      auto i = held.find(s.grant_id);
      if (i == held.end())
        return;
      auto f = std::move(i->second);
      held.erase(i);
      f();
    },
    [self](atom::release, uint64_t id) { self->state.releases.push_back(id); },
    [self](atom::snapshot) -> token_status {
      ++self->state.snapshots;
      token_status ts;
      ts.profile = self->state.profile;
      return ts;
    },
    [](atom::status) { return caf::settings{}; },
  };
}

// -- KEEPA CLIENT ------------------------------------------------------------

struct client_stand_in_state {
  static constexpr const char* name = "client-stand-in";

  /// Answers /product; by default no product comes back.
  std::function<caf::expected<product_page>(const product_query&)> products
    = [](const product_query&) { return product_page{}; };
  /// Answers /deal; by default an empty page.
  std::function<caf::expected<deal_page>(const deal_query&)> deals
    = [](const deal_query&) { return deal_page{}; };
  /// Answers this much later (virtual time); 0 answers at once.
  caf::timespan latency{0};
  std::vector<product_query> product_queries;
  std::vector<deal_query> deal_queries;
  /// Answers waiting for their latency to pass, by id.
  std::map<uint64_t, std::function<void()>> held;
  uint64_t next_id = 1;
  /// Requests answered so far.
  size_t answered = 0;
};

using client_stand_in_actor
  = keepa_client_actor::stateful_pointer<client_stand_in_state>;

/// Answers `x` through a typed promise now or after the latency.
template<class T>
caf::result<T> answer(client_stand_in_actor self, caf::expected<T> x) {
  auto& st = self->state;
  if (st.latency.count() == 0) {
    ++st.answered;
    if (!x)
      return std::move(x.error());
    return std::move(*x);
  }
  auto rp = self->make_response_promise<T>();
  auto id = st.next_id++;
  st.held.emplace(id, [self, rp, x{std::move(x)}]() mutable {
    ++self->state.answered;
    if (x)
      rp.deliver(std::move(*x));
    else
      rp.deliver(std::move(x.error()));
  });
  // The client's own retry message serves as its timer here.
  self->delayed_send(self, st.latency, atom::retry_v, id);
  return rp;
}

inline keepa_client_actor::behavior_type
client_stand_in(client_stand_in_actor self) {
  return {
    [self](atom::product, product_query& q) -> caf::result<product_page> {
      self->state.product_queries.push_back(q);
      return answer(self, self->state.products(q));
    },
    [self](atom::deal, deal_query& q) -> caf::result<deal_page> {
      self->state.deal_queries.push_back(q);
      return answer(self, self->state.deals(q));
    },
    [](atom::seller, seller_query&) { return seller_page{}; },
    [](atom::transfer, transfer_result&) {
      // No transport behind the stand-in.
    },
    [self](atom::retry, uint64_t id) {
      auto& held = self->state.held;
      auto i = held.find(id);
      if (i == held.end())
        return;
      auto f = std::move(i->second);
      held.erase(i);
      f();
    },
    [](atom::probe) { return envelope{}; },
    [](atom::status) { return caf::settings{}; },
  };
}

// -- STORAGE -----------------------------------------------------------------

struct storage_stand_in_state {
  static constexpr const char* name = "storage-stand-in";

  feed_position watermark;
  /// Answer to `pending`.
  std::vector<feed_position> pending;
  /// What `known` answers, by ASIN.
  std::map<std::string, asin_memory> memory;
  /// Answers to `stalest`, in order; then nothing is stale.
  std::deque<std::vector<deal_record>> stalest;
  /// Answer to `expire`.
  uint64_t expire_count = 0;

  std::vector<upsert_batch> upserts;
  std::vector<std::vector<feed_position>> tracked;
  std::vector<std::vector<std::string>> known_asked;
  /// (count, last seen before) of each `stalest`.
  std::vector<std::pair<uint32_t, int64_t>> stalest_asked;
  /// Cutoffs of each `expire`.
  std::vector<int64_t> expire_asked;
};

using storage_stand_in_actor
  = storage_actor::stateful_pointer<storage_stand_in_state>;

inline storage_actor::behavior_type
storage_stand_in(storage_stand_in_actor self) {
  return {
    [self](atom::upsert, upsert_batch& b) {
      upsert_ack ack;
      ack.deals = b.deals.size();
      ack.rejections = b.rejections.size();
      self->state.upserts.push_back(std::move(b));
      return ack;
    },
    [self](atom::track, std::vector<feed_position>& xs) {
      self->state.tracked.push_back(xs);
      return static_cast<uint64_t>(xs.size());
    },
    [self](atom::pending) { return self->state.pending; },
    [self](atom::known, std::vector<std::string>& asins) {
      auto& st = self->state;
      st.known_asked.push_back(asins);
      std::vector<asin_memory> result;
      for (auto& x : asins) {
        auto i = st.memory.find(x);
        if (i != st.memory.end())
          result.push_back(i->second);
      }
      return result;
    },
    [self](atom::stalest, uint32_t n, int64_t before) {
      auto& st = self->state;
      st.stalest_asked.emplace_back(n, before);
      std::vector<deal_record> result;
      if (!st.stalest.empty()) {
        result = std::move(st.stalest.front());
        st.stalest.pop_front();
      }
      return result;
    },
    [self](atom::expire, int64_t cutoff) {
      self->state.expire_asked.push_back(cutoff);
      return self->state.expire_count;
    },
    [self](atom::watermark) { return self->state.watermark; },
    [](atom::counts) { return storage_counts{}; },
    [](atom::counts, atom::deal) { return uint64_t{0}; },
    [](atom::flush) { return caf::ok_atom::value; },
    [](atom::status) { return caf::settings{}; },
  };
}

// -- neighbouring stages -----------------------------------------------------

/// Stands in for the PEEK-FILTER downstream of the scanner.
struct peek_stand_in_state {
  static constexpr const char* name = "peek-stand-in";

  /// What it claims to hold (answers offers and `backlog`).
  uint64_t queued = 0;
  std::vector<std::vector<deal>> offers;
  size_t backlog_asked = 0;
};

using peek_stand_in_actor
  = peek_filter_actor::stateful_pointer<peek_stand_in_state>;

inline peek_filter_actor::behavior_type
peek_stand_in(peek_stand_in_actor self) {
  return {
    [self](atom::offer, std::vector<deal>& xs) {
      self->state.offers.push_back(xs);
      return self->state.queued;
    },
    [self](atom::backlog) {
      ++self->state.backlog_asked;
      return self->state.queued;
    },
    [](atom::upstream, scanner_actor&) {
      // Nobody to tell.
    },
    [](atom::retry, uint64_t) {
      // No token gate.
    },
    [](atom::stop) { return caf::ok_atom::value; },
    [](atom::status) { return caf::settings{}; },
  };
}

/// Stands in for the COMMITTER downstream of the peek-filter.
struct committer_stand_in_state {
  static constexpr const char* name = "committer-stand-in";

  std::vector<std::vector<survivor>> offers;
};

using committer_stand_in_actor
  = committer_actor::stateful_pointer<committer_stand_in_state>;

inline committer_actor::behavior_type
committer_stand_in(committer_stand_in_actor self) {
  return {
    [self](atom::offer, std::vector<survivor>& xs) {
      self->state.offers.push_back(xs);
      return static_cast<uint64_t>(xs.size());
    },
    [](atom::retry, uint64_t) {
      // No token gate.
    },
    [](atom::stop) { return caf::ok_atom::value; },
    [](atom::status) { return caf::settings{}; },
  };
}

/// Stands in for the SCANNER upstream of the peek-filter.
struct scanner_stand_in_state {
  static constexpr const char* name = "scanner-stand-in";

  size_t drained = 0;
};

using scanner_stand_in_actor
  = scanner_actor::stateful_pointer<scanner_stand_in_state>;

inline scanner_actor::behavior_type
scanner_stand_in(scanner_stand_in_actor self) {
  return {
    [](atom::scan) {
      // Never scans.
    },
    [self](atom::drained) { ++self->state.drained; },
    [](atom::retry, uint64_t) {
      // No token gate.
    },
    [](atom::stop) { return caf::ok_atom::value; },
    [](atom::status) { return caf::settings{}; },
  };
}

// -- fixture -----------------------------------------------------------------

/// A profile parsed the way profile files are, with the given batch sizes.
inline profile test_profile(const std::string& name, int64_t min_rate,
                            int64_t peek, int64_t commit, int64_t update) {
  caf::settings section;
  section.emplace("name", name);
  section.emplace("min-rate", min_rate);
  section.emplace("peek-batch", peek);
  section.emplace("commit-batch", commit);
  section.emplace("update-batch", update);
  caf::settings xs;
  xs.emplace("profile", std::move(section));
  auto p = profile_from(xs, "test profile " + name);
  if (!p)
    throw std::runtime_error(render(p.error()));
  return std::move(*p);
}

/// Two profiles with small, distinct batch sizes.
inline std::vector<profile> test_profiles() {
  return {test_profile("small", 0, 3, 2, 2),
          test_profile("large", 20, 5, 4, 3)};
}

/// The stand-ins on virtual time and a stage context wired to them.
struct stage_fixture : deterministic_fixture {
  /// Unix ms at the fixture's start.
  static constexpr int64_t unix0 = 1790000000000;

  token_actor token = sys.spawn(token_stand_in, std::string{"small"});
  keepa_client_actor client = sys.spawn(client_stand_in);
  storage_actor storage = sys.spawn(storage_stand_in);
  std::vector<std::string> log;
  stage_context ctx;
  /// Sends `stop` and collects the answer.
  caf::scoped_actor asker{sys};

  stage_fixture() {
    ctx.token = token;
    ctx.client = client;
    ctx.storage = storage;
    ctx.profiles = test_profiles();
    ctx.analysis = std::make_shared<const analysis_config>();
    ctx.log = [this](const std::string& line) { log.push_back(line); };
    ctx.t0 = now();
    ctx.unix0_ms = unix0;
  }

  ~stage_fixture() {
    for (auto& x : spawned)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(token, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(storage, caf::exit_reason::user_shutdown);
    sched.run();
  }

  token_stand_in_state& tokens() {
    return state_of<token_stand_in_state>(token);
  }

  client_stand_in_state& keepa() {
    return state_of<client_stand_in_state>(client);
  }

  storage_stand_in_state& db() {
    return state_of<storage_stand_in_state>(storage);
  }

  /// Unix ms now (virtual).
  int64_t unix_now() {
    return unix0
      + std::chrono::duration_cast<std::chrono::milliseconds>(now() - ctx.t0)
          .count();
  }

  /// Remembers `x` for shutdown; returns it.
  template<class Handle>
  Handle keep(Handle x) {
    spawned.push_back(caf::actor_cast<caf::actor>(x));
    return x;
  }

  /// Sends `stop` to `hdl` from the asker.
  template<class Handle>
  void send_stop(const Handle& hdl) {
    asker->send(hdl, atom::stop_v);
    sched.run();
  }

  /// Whether the asker got `ok` for its stop.
  bool stop_answered() {
    bool ok = false;
    asker->receive([&](caf::ok_atom) { ok = true; },
                   caf::after(std::chrono::seconds{0}) >> [] {});
    return ok;
  }

private:
  std::vector<caf::actor> spawned;
};

/// A /deal entry at Keepa minute `minute` with a used price.
inline deal feed_deal(int32_t minute, std::string asin, int32_t used = 1000) {
  deal d;
  d.asin = std::move(asin);
  d.last_update = minute;
  d.current.assign(csv::count, -1);
  d.current[csv::used] = used;
  return d;
}

/// A light product the peek rules pass at the default thresholds: bought
/// at `buy`, sold at `sell`, one rank drop.
inline product viable_product(const std::string& asin, int32_t buy = 1000,
                              int32_t sell = 4000) {
  product p;
  p.asin = asin;
  p.has_stats = true;
  p.stats.current.assign(csv::count, -1);
  p.stats.current[csv::used] = buy;
  p.stats.current[csv::sales_rank] = 50000;
  p.stats.avg90.assign(csv::count, -1);
  p.stats.avg90[csv::used] = sell;
  p.stats.avg365 = p.stats.avg90;
  p.stats.sales_rank_drops90 = 1;
  p.stats.sales_rank_drops365 = 1;
  return p;
}

/// The ASINs of `xs` in order, joined by spaces.
template<class T, class F>
std::string asins_of(const std::vector<T>& xs, F get) {
  std::string out;
  for (auto& x : xs)
    out += (out.empty() ? "" : " ") + get(x);
  return out;
}

inline std::string joined(const std::vector<std::string>& xs) {
  std::string out;
  for (auto& x : xs)
    out += (out.empty() ? "" : " ") + x;
  return out;
}

} // namespace keepa::test
