#include "actors/storage/storage.hpp"

#include <algorithm>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/config_value.hpp>
#include <caf/settings.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>

#include "actors/status.hpp"
#include "messages/error.hpp"
#include "messages/storage.hpp"
#include "messages/asin.hpp"
#include "config/locale_option.hpp"
#include "storage/scope.hpp"
#include "storage/soci_backend.hpp"

namespace keepa {

storage_config storage_config_from(const caf::settings& opts) {
  storage_config result;
  result.url = caf::get_or(opts, defaults::storage::url_key,
                           std::string{defaults::storage::url});
  result.busy_timeout
    = caf::get_or(opts, defaults::storage::busy_timeout_key,
                  caf::timespan{defaults::storage::busy_timeout});
  result.lock_retries = caf::get_or(opts, defaults::storage::lock_retries_key,
                                    defaults::storage::lock_retries);
  // A bad keepa.locale is reported by the scanner's reader.
  if (auto loc = locale_option(opts); loc && *loc)
    result.domain = (*loc)->domain;
  result.scope = caf::get_or(opts, defaults::storage::scope_key,
                             std::string{defaults::storage::scope});
  return result;
}

caf::error validate(const storage_config& cfg) {
  if (auto loc = db::parse_location(cfg.url); !loc)
    return std::move(loc.error());
  if (cfg.busy_timeout <= caf::timespan::zero()
      || cfg.busy_timeout > std::chrono::minutes(10))
    return caf::make_error(ec::invalid_config,
                           defaults::storage::busy_timeout_key,
                           "must be in (0, 10min]");
  if (cfg.lock_retries < 0 || cfg.lock_retries > 100)
    return caf::make_error(ec::invalid_config,
                           defaults::storage::lock_retries_key,
                           "must be in [0, 100]");
  if (!cfg.scope.empty() && !db::valid_scope(cfg.scope))
    return caf::make_error(ec::invalid_config, defaults::storage::scope_key,
                           "expected 1 to 64 of a-z, 0-9, '.', '_' and '-', "
                           "got \""
                             + cfg.scope + "\"");
  return caf::none;
}

namespace {

db::open_options open_options_from(const storage_config& cfg) {
  db::open_options result;
  result.url = cfg.url;
  result.busy_timeout
    = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.busy_timeout);
  result.lock_retries = static_cast<uint32_t>(cfg.lock_retries);
  result.domain = cfg.domain;
  result.scope = cfg.scope;
  return result;
}

caf::expected<std::shared_ptr<db::backend>>
open_backend(const storage_config& cfg) {
  if (auto err = validate(cfg))
    return err;
  auto db = db::soci_backend::open(open_options_from(cfg));
  if (!db)
    return std::move(db.error());
  return std::shared_ptr<db::backend>{std::move(*db)};
}

caf::error check(const upsert_batch& batch) {
  auto bad = [](const char* what, const std::string& asin) {
    return caf::make_error(ec::storage_error, "invalid batch",
                           std::string{what} + " ASIN \"" + printable_asin(asin)
                             + "\"");
  };
  for (auto& x : batch.deals)
    if (!valid_asin(x.asin))
      return bad("deal", x.asin);
  for (auto& x : batch.rejections)
    if (!valid_asin(x.asin))
      return bad("rejection", x.asin);
  for (auto& x : batch.done)
    if (!valid_asin(x.asin))
      return bad("feed position", x.asin);
  for (auto& x : batch.seen)
    if (!valid_asin(x.asin))
      return bad("sighted deal", x.asin);
  return caf::none;
}

std::string to_text(const feed_position& x) {
  return std::to_string(x.last_update) + ":" + x.asin;
}

void log(storage_pointer self, log_level level, const std::string& line) {
  if (auto& f = self->state.cfg.log)
    f(level, std::string{storage_state::name} + ": " + line);
}

std::string seconds(caf::timespan d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100)
    + " s";
}

/// A permanent error: answers it, holds TOKEN for good and ends the actor
/// (the pipeline sees it go down and stops). Reads too: the pipeline's are
/// fixed statements on bounded input, so one that fails for good (a table
/// dropped, a file corrupt) says the database no longer serves this
/// program; a stage asking again would only log it, or scan for nothing.
void fail(storage_pointer self, storage_op& op, const caf::error& err) {
  auto& st = self->state;
  ++st.failures;
  st.last_error = render(err);
  op.refuse(err);
  log(self, log_level::error, op.what + " failed, stopping: " + st.last_error);
  if (st.token)
    self->send(st.token, atom::hold_v, "storage failed: " + st.last_error);
  self->quit(err);
}

/// A transient error: keeps `op`, holds TOKEN on the first one and tries
/// again after the backoff, which doubles per failed try.
void stall(storage_pointer self, storage_op op, caf::error err) {
  auto& st = self->state;
  st.last_error = render(err);
  if (!st.stalled) {
    ++st.outages;
    st.stalled_since = self->clock().now();
    st.backoff = st.cfg.retry_min;
    if (st.token)
      self->send(st.token, atom::hold_v,
                 "storage cannot write: " + st.last_error);
    log(self, log_level::warning,
        "cannot write (" + st.last_error + "); spending held, retrying");
  }
  st.waiting = false;
  st.stalled = std::move(op);
  st.stall_error = std::move(err);
  self->delayed_send(self, st.backoff, atom::retry_v);
  st.backoff = std::min(st.backoff * 2, st.cfg.retry_max);
}

/// A statement waits for another connection's lock: holds TOKEN at once
/// rather than after the busy timeout (spending meanwhile would wait for
/// storage all the same).
void lock_wait(storage_pointer self) {
  auto& st = self->state;
  ++st.lock_waits;
  if (st.stalled || st.waiting || !st.token)
    return;
  st.waiting = true;
  self->send(st.token, atom::hold_v, std::string{"storage waits for a lock"});
}

/// How often STORAGE asks TOKEN for the tokens of this run (virtual time
/// in tests); the counters are written with the watermark anyway.
constexpr auto tally_tokens_every = std::chrono::seconds{30};

/// How long a flush waits for TOKEN's totals before it flushes without
/// them: well inside the shutdown's flush bound, also when TOKEN is a relay
/// to a budget server that does not answer (token_link.hpp).
constexpr auto tally_tokens_wait = std::chrono::seconds{2};

/// The run counters so far, `batch` (about to be committed) included, kept
/// for the next write of the watermark or flush.
void keep_tally(storage_pointer self, const upsert_batch* batch = nullptr) {
  auto& st = self->state;
  if (!st.tally_error.empty())
    return;
  auto tally = st.tally;
  if (batch != nullptr)
    tally.stored(*batch);
  st.db->keep_state(
    to_state(tally.total(self->clock().now(), st.stored_deals)));
}

/// Asks TOKEN for this run's tokens by stage, at most every
/// `tally_tokens_every`.
void ask_tokens(storage_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (!st.token
      || (st.tally.asked && now - *st.tally.asked < tally_tokens_every))
    return;
  st.tally.asked = now;
  // No timeout: TOKEN always answers a snapshot (a TOKEN that is gone
  // answers an error at once), and a timer would keep STORAGE alive.
  self->request(st.token, caf::infinite, atom::snapshot_v)
    .then(
      [self](token_status& ts) {
        self->state.tally.tokens(ts.totals.consumed_by_stage, ts.refill_rate);
      },
      [](caf::error&) {
        // Asked again after the next batch.
      });
}

caf::settings to_settings(const run_sample& x) {
  caf::settings result;
  for (auto& [key, value] : to_state(x))
    result.emplace(key.substr(std::char_traits<char>::length(run_state_prefix)),
                   static_cast<int64_t>(std::stoll(value)));
  result.emplace("stored", static_cast<int64_t>(x.stored));
  return result;
}

/// Tries `op`; an outage ends once its stalled operation is answered.
void run(storage_pointer self, storage_op op) {
  auto& st = self->state;
  auto err = op.attempt();
  if (err && db::transient(err)) {
    stall(self, std::move(op), std::move(err));
    return;
  }
  if (err) {
    fail(self, op, err);
    return; // STORAGE ends.
  }
  if (st.waiting && !st.stalled) {
    // The lock went away within the busy timeout.
    st.waiting = false;
    self->send(st.token, atom::resume_v);
    return;
  }
  if (st.stalled) {
    auto down = self->clock().now() - st.stalled_since;
    st.stalled.reset();
    st.stall_error = caf::none;
    if (st.token)
      self->send(st.token, atom::resume_v);
    log(self, log_level::info,
        "writes again after " + seconds(down) + "; spending resumed");
  }
}

/// Runs `f` (returning caf::expected<T>) as an operation answered through a
/// promise; while an earlier one is stalled, leaves the request in the
/// mailbox (a handler that moves from its message checks that first: the
/// skipped message is handled again later).
template<class T, class F>
caf::result<T> perform(storage_pointer self, std::string what, F f) {
  if (self->state.stalled)
    return caf::skip;
  auto rp = self->make_response_promise<T>();
  storage_op op;
  op.what = std::move(what);
  // Moved, not copied: an upsert's `f` holds its whole batch.
  op.attempt = [rp, f{std::move(f)}]() mutable -> caf::error {
    auto res = f();
    if (!res)
      return std::move(res.error());
    rp.deliver(std::move(*res));
    return caf::none;
  };
  op.refuse = [rp](const caf::error& err) mutable { rp.deliver(err); };
  run(self, std::move(op));
  return std::as_const(rp);
}

/// The retry handler: reconnects after a lost connection, then tries the
/// stalled operation again (`stalled` stays set until the outage ends).
void retry(storage_pointer self) {
  auto& st = self->state;
  if (!st.stalled)
    return;
  ++st.retries;
  auto op = std::move(*st.stalled);
  if (st.stall_error == ec::storage_unavailable) {
    if (auto res = st.db->reconnect(); !res) {
      if (db::transient(res.error())) {
        stall(self, std::move(op), std::move(res.error()));
        return;
      }
      // Without a session nothing can be stored any more.
      fail(self, op, res.error());
      return;
    }
  }
  run(self, std::move(op));
}

} // namespace

storage_actor::behavior_type storage(storage_pointer self, storage_config cfg,
                                     std::shared_ptr<db::backend> db) {
  auto& st = self->state;
  if (!db) {
    auto opened = open_backend(cfg);
    if (!opened) {
      self->quit(opened.error());
      return storage_actor::behavior_type::make_empty_behavior();
    }
    db = std::move(*opened);
  }
  auto counts = db->counts();
  if (!counts) {
    self->quit(counts.error());
    return storage_actor::behavior_type::make_empty_behavior();
  }
  st.cfg = std::move(cfg);
  st.db = std::move(db);
  auto pending = st.db->pending();
  if (!pending) {
    self->quit(pending.error());
    return storage_actor::behavior_type::make_empty_behavior();
  }
  st.marks = db::low_watermark{counts->watermark};
  st.marks.track(*pending);
  st.schema_version = counts->schema_version;
  st.stored_deals = counts->deals;
  st.stored_rejections = counts->rejections;
  st.db->on_lock_wait([self] { lock_wait(self); });
  if (auto before = read_run_sample(*st.db); before) {
    st.tally = run_tally{*before, self->clock().now()};
  } else if (before.error() == ec::invalid_config) {
    // The counters only feed the ETA: keep the pipeline running, leave
    // them as they are and say why.
    st.tally_error = render(before.error());
    log(self, log_level::warning, "run counters not kept: " + st.tally_error);
  } else {
    self->quit(before.error());
    return storage_actor::behavior_type::make_empty_behavior();
  }
  return {
    [self](atom::upsert, upsert_batch& batch) -> caf::result<upsert_ack> {
      auto& st = self->state;
      if (st.stalled)
        return caf::skip;
      if (auto err = check(batch)) {
        // Hostile input: refuse the batch, keep running, store nothing.
        ++st.failures;
        st.last_error = render(err);
        return err;
      }
      return perform<upsert_ack>(
        self, "upsert",
        [self, batch{std::move(batch)}]() -> caf::expected<upsert_ack> {
          auto& st = self->state;
          auto next = st.marks.preview(batch.done);
          std::optional<feed_position> advance;
          if (st.marks.value() < next) {
            advance = next;
            keep_tally(self, &batch);
          }
          auto res = st.db->commit(batch, advance);
          if (!res)
            return std::move(res.error());
          st.tally.stored(batch);
          ask_tokens(self);
          st.stored_deals += res->new_deals;
          st.stored_deals -= std::min(res->retired_deals, st.stored_deals);
          st.retired_deals += res->retired_deals;
          st.stored_rejections += res->new_rejections;
          st.marks.apply(batch.done, next);
          ++st.batches;
          st.deals_written += batch.deals.size();
          st.rejections_written += batch.rejections.size();
          return upsert_ack{batch.deals.size(), batch.rejections.size(),
                            st.marks.value()};
        });
    },
    [self](atom::track,
           std::vector<feed_position>& xs) -> caf::result<uint64_t> {
      if (self->state.stalled)
        return caf::skip;
      for (auto& x : xs)
        if (!valid_asin(x.asin))
          return caf::make_error(ec::storage_error, "invalid feed position",
                                 printable_asin(x.asin));
      // Durable before the scanner hands them on: a restart finishes them.
      return perform<uint64_t>(
        self, "track", [self, xs{std::move(xs)}]() -> caf::expected<uint64_t> {
          auto& st = self->state;
          auto fresh = st.marks.untracked(xs);
          if (auto res = st.db->track(fresh); !res)
            return std::move(res.error());
          st.tally.tracked(fresh);
          return st.marks.track(fresh);
        });
    },
    [self](atom::pending) -> std::vector<feed_position> {
      return self->state.marks.pending_positions();
    },
    [self](atom::known, std::vector<std::string>& asins)
      -> caf::result<std::vector<asin_memory>> {
      // Before moving from the message: a skipped one is handled again.
      if (self->state.stalled)
        return caf::skip;
      return perform<std::vector<asin_memory>>(
        self, "known", [self, asins{std::move(asins)}] {
          return self->state.db->known(asins);
        });
    },
    [self](atom::stalest, uint32_t n,
           int64_t seen_before_ms) -> caf::result<std::vector<deal_record>> {
      return perform<std::vector<deal_record>>(
        self, "stalest", [self, n, seen_before_ms] {
          return self->state.db->stalest(n, seen_before_ms);
        });
    },
    [self](atom::expire, int64_t cutoff_ms) -> caf::result<uint64_t> {
      return perform<uint64_t>(self, "expire", [self, cutoff_ms] {
        auto& st = self->state;
        auto res = st.db->expire(cutoff_ms);
        if (res)
          st.stored_deals -= std::min(*res, st.stored_deals);
        return res;
      });
    },
    [self](atom::watermark) -> feed_position {
      return self->state.marks.value();
    },
    // From memory, also while a write is stalled: a status scrape costs
    // no query.
    [self](atom::counts) {
      auto& st = self->state;
      storage_counts result;
      result.deals = st.stored_deals;
      result.rejections = st.stored_rejections;
      result.watermark = st.marks.value();
      result.schema_version = st.schema_version;
      result.pending = st.marks.pending();
      return result;
    },
    [self](atom::counts, atom::deal) { return self->state.stored_deals; },
    [self](atom::flush) -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      if (st.stalled)
        return caf::skip;
      if (st.token && !st.tokens_fresh && st.tally_error.empty()) {
        // The run counters go with the flush: ask TOKEN for this run's
        // tokens first, then flush (answered or not).
        auto rp = self->make_response_promise<caf::ok_atom>();
        auto again = [self, rp]() mutable {
          self->state.tokens_fresh = true;
          rp.delegate(caf::actor_cast<storage_actor>(self), atom::flush_v);
        };
        self->request(st.token, tally_tokens_wait, atom::snapshot_v)
          .then(
            [self, again](token_status& ts) mutable {
              self->state.tally.tokens(ts.totals.consumed_by_stage,
                                       ts.refill_rate);
              again();
            },
            [again](caf::error&) mutable { again(); });
        return rp;
      }
      st.tokens_fresh = false;
      return perform<caf::ok_atom>(
        self, "flush", [self]() -> caf::expected<caf::ok_atom> {
          keep_tally(self);
          if (auto res = self->state.db->flush(); !res)
            return std::move(res.error());
          return caf::ok_atom_v;
        });
    },
    [self](atom::hold, token_actor& token) {
      self->state.token = std::move(token);
    },
    [self](atom::retry) { retry(self); },
    [self](atom::status) {
      auto& st = self->state;
      caf::settings result;
      caf::put(result, "name", std::string{storage_state::name});
      caf::put(result, "url", db::redact(st.cfg.url));
      caf::put(result, "backend", std::string{st.db->kind()});
      caf::put(result, "schema-version", int64_t{st.schema_version});
      caf::put(result, "watermark", to_text(st.marks.value()));
      caf::put(result, "pending", static_cast<int64_t>(st.marks.pending()));
      caf::put(result, "held", static_cast<int64_t>(st.marks.held()));
      caf::put(result, "batches", static_cast<int64_t>(st.batches));
      caf::put(result, "deals-written", static_cast<int64_t>(st.deals_written));
      caf::put(result, "rejections-written",
               static_cast<int64_t>(st.rejections_written));
      caf::put(result, "deals", static_cast<int64_t>(st.stored_deals));
      caf::put(result, "retired", static_cast<int64_t>(st.retired_deals));
      caf::put(result, "rejections",
               static_cast<int64_t>(st.stored_rejections));
      caf::put(result, "failures", static_cast<int64_t>(st.failures));
      caf::put(result, "writable", !st.stalled);
      caf::put(result, "outages", static_cast<int64_t>(st.outages));
      caf::put(result, "retries", static_cast<int64_t>(st.retries));
      caf::put(result, "lock-waits", static_cast<int64_t>(st.lock_waits));
      if (st.stalled) {
        caf::put(result, "stalled", st.stalled->what);
        caf::put(result, "stalled-for",
                 caf::timespan{self->clock().now() - st.stalled_since});
      }
      if (!st.last_error.empty())
        caf::put(result, "last-error", st.last_error);
      if (st.tally_error.empty())
        result.emplace(
          "run",
          to_settings(st.tally.total(self->clock().now(), st.stored_deals)));
      else
        caf::put(result, "run-error", st.tally_error);
      put_mailbox(self, result);
      return result;
    },
  };
}

caf::expected<storage_actor> spawn_storage(caf::actor_system& sys,
                                           const storage_config& cfg,
                                           bool detached) {
  auto db = open_backend(cfg);
  if (!db)
    return std::move(db.error());
  if (detached)
    return sys.spawn<caf::detached>(storage, cfg, std::move(*db));
  return sys.spawn(storage, cfg, std::move(*db));
}

} // namespace keepa
