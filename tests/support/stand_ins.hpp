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
#include <caf/typed_actor.hpp>

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
  /// The projected balance and refill rate snapshots report.
  int64_t projected = 0;
  int64_t refill_rate = 0;
  /// The cap and mode snapshots report (0 and "": as if TOKEN had no
  /// observation yet).
  int64_t cap = 0;
  std::string mode;
  /// Tokens consumed per stage so far, as snapshots report them (none
  /// when unset).
  std::function<std::vector<int64_t>()> consumed_by_stage;
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
  /// `hold` (the reason) and `resume` (an empty string), in order.
  std::vector<std::string> holds;
};

using token_stand_in_actor
  = token_actor::stateful_pointer<token_stand_in_state>;

/// Spawns a TOKEN stand-in whose snapshots and grants name `profile`.
token_actor spawn_token_stand_in(caf::actor_system& sys, std::string profile);

// -- KEEPA CLIENT ------------------------------------------------------------

struct client_stand_in_state {
  static constexpr const char* name = "client-stand-in";

  /// Answers /product; by default no product comes back.
  std::function<caf::expected<product_page>(const product_query&)> products
    = [](const product_query&) { return product_page{}; };
  /// Answers /deal; by default an empty page.
  std::function<caf::expected<deal_page>(const deal_query&)> deals
    = [](const deal_query&) { return deal_page{}; };
  /// Answers /query (Product Finder); by default an empty page.
  std::function<caf::expected<finder_page>(const finder_query&)> finder
    = [](const finder_query&) { return finder_page{}; };
  /// Answers this much later (virtual time); 0 answers at once.
  caf::timespan latency{0};
  std::vector<product_query> product_queries;
  std::vector<deal_query> deal_queries;
  std::vector<finder_query> finder_queries;
  /// Answers waiting for their latency to pass, by id.
  std::map<uint64_t, std::function<void()>> held;
  uint64_t next_id = 1;
  /// Requests answered so far.
  size_t answered = 0;
};

using client_stand_in_actor
  = keepa_client_actor::stateful_pointer<client_stand_in_state>;

keepa_client_actor spawn_client_stand_in(caf::actor_system& sys);

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
  /// While set, `track` answers this error and tracks nothing.
  caf::error track_error;

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

storage_actor spawn_storage_stand_in(caf::actor_system& sys);

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

peek_filter_actor spawn_peek_stand_in(caf::actor_system& sys);

/// Stands in for the COMMITTER downstream of the peek-filter.
struct committer_stand_in_state {
  static constexpr const char* name = "committer-stand-in";

  std::vector<std::vector<survivor>> offers;
};

using committer_stand_in_actor
  = committer_actor::stateful_pointer<committer_stand_in_state>;

committer_actor spawn_committer_stand_in(caf::actor_system& sys);

/// Stands in for the SCANNER upstream of the peek-filter.
struct scanner_stand_in_state {
  static constexpr const char* name = "scanner-stand-in";

  size_t drained = 0;
};

using scanner_stand_in_actor
  = scanner_actor::stateful_pointer<scanner_stand_in_state>;

scanner_actor spawn_scanner_stand_in(caf::actor_system& sys);

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

  token_actor token = spawn_token_stand_in(sys, "small");
  keepa_client_actor client = spawn_client_stand_in(sys);
  storage_actor storage = spawn_storage_stand_in(sys);
  std::vector<std::string> log;
  stage_context ctx;
  /// Sends `stop` and collects the answer.
  caf::scoped_actor asker{sys};

  stage_fixture();

  ~stage_fixture();

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
  bool stop_answered();

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
