// The behaviors of the stand-ins (stand_ins.hpp), compiled once.

#include "tests/support/stand_ins.hpp"

#include <caf/typed_event_based_actor.hpp>

namespace keepa::test {

namespace {

/// The next scripted answer to `req`.
token_reply scripted(token_stand_in_actor self, const token_request& req) {
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

token_actor::behavior_type token_stand_in(token_stand_in_actor self,
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
    [self](atom::hold, std::string& why) {
      self->state.holds.push_back(std::move(why));
    },
    [self](atom::resume) { self->state.holds.emplace_back(); },
    [](atom::tick) {
      // nop: the stand-in grants at once, nobody waits to be told earlier
    },
    [self](atom::snapshot) -> token_status {
      ++self->state.snapshots;
      token_status ts;
      ts.profile = self->state.profile;
      ts.projected = self->state.projected;
      ts.refill_rate = self->state.refill_rate;
      ts.cap = self->state.cap;
      ts.mode = self->state.mode;
      if (self->state.consumed_by_stage)
        ts.totals.consumed_by_stage = self->state.consumed_by_stage();
      return ts;
    },
    [](atom::status) { return caf::settings{}; },
  };
}

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

keepa_client_actor::behavior_type client_stand_in(client_stand_in_actor self) {
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
    [self](atom::finder, finder_query& q) -> caf::result<finder_page> {
      self->state.finder_queries.push_back(q);
      return answer(self, self->state.finder(q));
    },
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

storage_actor::behavior_type storage_stand_in(storage_stand_in_actor self) {
  return {
    [self](atom::upsert, upsert_batch& b) {
      upsert_ack ack;
      ack.deals = b.deals.size();
      ack.rejections = b.rejections.size();
      self->state.upserts.push_back(std::move(b));
      return ack;
    },
    [self](atom::track,
           std::vector<feed_position>& xs) -> caf::result<uint64_t> {
      if (self->state.track_error)
        return self->state.track_error;
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
    [](atom::hold, const token_actor&) {
      // The stand-in never stalls.
    },
    [](atom::retry) {
      // nop
    },
    [](atom::status) { return caf::settings{}; },
  };
}

peek_filter_actor::behavior_type peek_stand_in(peek_stand_in_actor self) {
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

committer_actor::behavior_type
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

scanner_actor::behavior_type scanner_stand_in(scanner_stand_in_actor self) {
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

} // namespace

token_actor spawn_token_stand_in(caf::actor_system& sys, std::string profile) {
  return sys.spawn(token_stand_in, std::move(profile));
}

keepa_client_actor spawn_client_stand_in(caf::actor_system& sys) {
  return sys.spawn(client_stand_in);
}

storage_actor spawn_storage_stand_in(caf::actor_system& sys) {
  return sys.spawn(storage_stand_in);
}

peek_filter_actor spawn_peek_stand_in(caf::actor_system& sys) {
  return sys.spawn(peek_stand_in);
}

committer_actor spawn_committer_stand_in(caf::actor_system& sys) {
  return sys.spawn(committer_stand_in);
}

scanner_actor spawn_scanner_stand_in(caf::actor_system& sys) {
  return sys.spawn(scanner_stand_in);
}

stage_fixture::stage_fixture() {
  ctx.token = token;
  ctx.client = client;
  ctx.storage = storage;
  ctx.profiles = test_profiles();
  ctx.analysis = std::make_shared<const analysis_config>();
  ctx.log = [this](const std::string& line) { log.push_back(line); };
  ctx.t0 = now();
  ctx.unix0_ms = unix0;
}

stage_fixture::~stage_fixture() {
  for (auto& x : spawned)
    caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(token, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(storage, caf::exit_reason::user_shutdown);
  sched.run();
}

bool stage_fixture::stop_answered() {
  bool ok = false;
  asker->receive([&](caf::ok_atom) { ok = true; },
                 caf::after(std::chrono::seconds{0}) >> [] {});
  return ok;
}

} // namespace keepa::test
