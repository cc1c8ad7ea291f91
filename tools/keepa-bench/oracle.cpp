#include "tools/keepa-bench/oracle.hpp"

#include <caf/actor_system.hpp>
#include <caf/settings.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/stages/feed_cursor.hpp"
#include "messages/pipeline.hpp"
#include "messages/storage.hpp"

namespace keepa {

namespace {

struct oracle_state {
  stage_context ctx;
  committer_actor committer;
  deal_truth good;
  uint64_t peeked = 0;
  uint64_t survived = 0;
  uint64_t errors = 0;
  static constexpr const char* name = "peek-filter";
};

using oracle_pointer = peek_filter_actor::stateful_pointer<oracle_state>;

/// Passes the good candidates on; the positions of the others are done.
uint64_t sort_out(oracle_pointer self, std::vector<deal>& xs) {
  auto& st = self->state;
  std::vector<survivor> good;
  upsert_batch done;
  for (auto& d : xs) {
    ++st.peeked;
    if (st.good(d)) {
      ++st.survived;
      survivor s;
      s.candidate = std::move(d);
      good.push_back(std::move(s));
    } else {
      done.done.push_back(position_of(d));
    }
  }
  if (!done.done.empty())
    self
      ->request(st.ctx.storage, caf::infinite, atom::upsert_v, std::move(done))
      .then([](upsert_ack&) {}, [self](caf::error&) { ++self->state.errors; });
  if (!good.empty())
    self->request(st.committer, caf::infinite, atom::offer_v, std::move(good))
      .then([](uint64_t) {});
  return 0;
}

peek_filter_actor::behavior_type oracle(oracle_pointer self, stage_context ctx,
                                        committer_actor committer,
                                        deal_truth good) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.committer = std::move(committer);
  st.good = std::move(good);
  return {
    [self](atom::offer, std::vector<deal>& xs) -> uint64_t {
      return sort_out(self, xs);
    },
    [](atom::backlog) -> uint64_t { return 0; },
    // It never holds a backlog: the scanner keeps its own interval rather
    // than being told `drained` after every offer.
    [](atom::upstream, scanner_actor&) {},
    [](atom::retry, uint64_t) {},
    [](atom::stop) { return caf::ok_atom::value; },
    [self](atom::status) {
      auto& st = self->state;
      caf::settings xs;
      xs.emplace("queued", int64_t{0});
      xs.emplace("peeked", static_cast<int64_t>(st.peeked));
      xs.emplace("survived", static_cast<int64_t>(st.survived));
      xs.emplace("rejected", static_cast<int64_t>(st.peeked - st.survived));
      xs.emplace("errors", static_cast<int64_t>(st.errors));
      return xs;
    },
  };
}

} // namespace

peek_filter_actor spawn_oracle(caf::actor_system& sys, stage_context ctx,
                               committer_actor committer, deal_truth good) {
  return sys.spawn(oracle, std::move(ctx), std::move(committer),
                   std::move(good));
}

} // namespace keepa
