#include "actors/client/keepa_client.hpp"

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <map>
#include <fstream>
#include <random>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/config_value.hpp>
#include <caf/send.hpp>
#include <caf/settings.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/status.hpp"
#include "actors/client/costs.hpp"
#include "actors/client/parse.hpp"
#include "actors/client/request.hpp"
#include "config/api_key.hpp"
#include "messages/error.hpp"
#include "messages/keepa.hpp"
#include "messages/token.hpp"

namespace keepa {

// -- configuration ------------------------------------------------------------

std::string redact(std::string text, const std::string& key) {
  if (key.empty())
    return text;
  auto replace_all = [&](const std::string& needle) {
    for (auto pos = text.find(needle); pos != std::string::npos;
         pos = text.find(needle, pos))
      text.replace(pos, needle.size(), "<key>");
  };
  replace_all(key);
  http_request probe;
  probe.query.emplace_back("k", key);
  auto encoded = render_target(probe).substr(3);
  if (encoded != key)
    replace_all(encoded);
  return text;
}

caf::expected<client_config> client_config_from(const caf::settings& opts) {
  namespace client = defaults::client;
  client_config cfg;
  cfg.endpoint = caf::get_or(opts, "keepa.client.endpoint",
                             std::string{client::endpoint});
  auto& t = cfg.transport;
  t.ca_file = caf::get_or(opts, "keepa.client.ca-file",
                          std::string{client::ca_file});
  t.timeout = caf::get_or(opts, "keepa.client.timeout",
                          caf::timespan{client::timeout});
  t.connect_timeout = caf::get_or(opts, "keepa.client.connect-timeout",
                                  caf::timespan{client::connect_timeout});
  t.max_answer_bytes = caf::get_or(opts, "keepa.client.max-answer-size",
                                   client::max_answer_size);
  t.max_connections = static_cast<long>(
    caf::get_or(opts, "keepa.client.max-connections", client::max_connections));
  t.gzip = caf::get_or(opts, "keepa.client.gzip", client::gzip);
  cfg.attempts = static_cast<int32_t>(
    caf::get_or(opts, "keepa.client.attempts", client::attempts));
  cfg.backoff = caf::get_or(opts, "keepa.client.backoff",
                            caf::timespan{client::backoff});
  cfg.backoff_max = caf::get_or(opts, "keepa.client.backoff-max",
                                caf::timespan{client::backoff_max});
  cfg.max_auth_failures = caf::get_or(opts, "keepa.client.max-auth-failures",
                                      client::max_auth_failures);
  auto bad = [](std::string what) {
    return caf::make_error(ec::invalid_config, std::move(what));
  };
  auto where = check_endpoint(cfg.endpoint);
  if (!where)
    return where.error();
  if (where->cleartext) {
    if (!caf::get_or(opts, "keepa.client.allow-insecure",
                     client::allow_insecure))
      return bad("keepa.client.endpoint: http:// to " + where->host
                 + ", which is not loopback, would send the API key in "
                   "cleartext; use https:// or, knowingly, "
                   "--keepa.client.allow-insecure");
    cfg.cleartext_host = where->host;
  }
  if (!t.ca_file.empty()) {
    std::error_code fs_err;
    if (!std::filesystem::is_regular_file(t.ca_file, fs_err)
        || !std::ifstream{t.ca_file})
      return bad("keepa.client.ca-file: cannot read " + t.ca_file);
  }
  if (t.timeout.count() <= 0 || t.connect_timeout.count() <= 0)
    return bad("keepa.client timeouts must be positive");
  if (t.max_answer_bytes < 1024)
    return bad("keepa.client.max-answer-size must be at least 1024");
  if (t.max_connections < 1 || cfg.attempts < 1 || cfg.attempts > 20)
    return bad("keepa.client.max-connections must be >= 1 and "
               "keepa.client.attempts in 1..20");
  if (cfg.backoff.count() <= 0 || cfg.backoff_max < cfg.backoff)
    return bad("keepa.client.backoff must be positive and <= backoff-max");
  auto key = load_api_key(
    caf::get_or(opts, "keepa.client.key-file", std::string{client::key_file}));
  if (!key)
    return key.error();
  cfg.key = std::move(*key);
  return cfg;
}

// -- the actor ----------------------------------------------------------------

namespace {

enum class call_kind : uint8_t { token, product, deal, seller, finder };

struct call {
  call_kind what = call_kind::token;
  uint64_t grant_id = 0;
  /// Products requested (an answer may not hold more).
  size_t max_items = 0;
  /// Worst-case cost, charged as unconfirmed when an answer is lost.
  int64_t cost = 0;
  http_request req;
  int32_t attempt = 1;
  /// When the current attempt went out (actor clock).
  caf::actor_clock::time_point sent;
  caf::response_promise rp;
};

/// Transfers of one endpoint: by status code, and their latency.
struct endpoint_counts {
  std::map<std::string, uint64_t> by_code;
  /// Per bucket of `latency_bounds`, the last one beyond the largest bound.
  std::vector<uint64_t> buckets
    = std::vector<uint64_t>(std::size(latency_bounds) + 1, 0);
  double seconds = 0;
};

struct counters {
  uint64_t requests = 0;
  uint64_t transfers = 0;
  uint64_t ok = 0;
  uint64_t too_many = 0; // 429
  uint64_t client_errors = 0;
  uint64_t server_errors = 0;
  uint64_t timeouts = 0;
  uint64_t resets = 0;
  uint64_t connect_failures = 0;
  uint64_t malformed = 0;
  uint64_t too_large = 0;
  /// Items (deals, products) left out of answers as unusable.
  uint64_t skipped_items = 0;
  /// Titles dropped as not UTF-8.
  uint64_t titles_dropped = 0;
  /// Answers whose timestamp lay outside the clock tolerance.
  uint64_t clock_refused = 0;
  uint64_t retries = 0;
  uint64_t settled = 0;
  uint64_t released = 0;
  uint64_t unconfirmed = 0;
  uint64_t bytes = 0;
  /// 401, 402 and 403 answers: all of them, and since the last success.
  uint64_t auth_failures = 0;
  uint64_t auth_failures_in_row = 0;
};

struct client_state {
  static constexpr const char* name = "keepa-client";

  client_config cfg;
  std::unique_ptr<transport> io;
  std::unordered_map<uint64_t, call> calls;
  uint64_t next_transfer = 1;
  std::mt19937_64 rng;
  counters n;
  /// Transfers by endpoint ("/deal", ...).
  std::map<std::string, endpoint_counts> endpoints;
  /// Unix ms (the transport's clock) of the newest successful answer and of
  /// the newest failure, and what failed; 0 / empty before the first.
  int64_t last_success_ms = 0;
  int64_t last_failure_ms = 0;
  std::string last_failure;
};

using client_pointer = keepa_client_actor::stateful_pointer<client_state>;

void log(client_pointer self, log_level level, const std::string& line) {
  auto& st = self->state;
  if (st.cfg.log)
    st.cfg.log(level, redact("keepa-client: " + line, st.cfg.key));
}

/// The request target for logs: never holds the key, shortened.
std::string describe(const call& c) {
  auto target = c.req.method + " " + render_target(c.req);
  if (target.size() > 160)
    target = target.substr(0, 157) + "...";
  return target;
}

caf::timespan backoff(client_pointer self, int32_t attempt) {
  auto& cfg = self->state.cfg;
  auto d = cfg.backoff;
  for (int32_t i = 1; i < attempt && d < cfg.backoff_max; ++i)
    d *= 2;
  d = std::min(d, cfg.backoff_max);
  // Equal jitter: half fixed, half random, so retries spread out but never
  // come back sooner than half the backoff.
  std::uniform_int_distribution<int64_t> jitter{0, d.count() / 2};
  return caf::timespan{d.count() / 2 + jitter(self->state.rng)};
}

void settle(client_pointer self, const call& c, const envelope& env,
            bool with_grant) {
  auto& st = self->state;
  if (!st.cfg.token)
    return;
  settlement s;
  s.grant_id = with_grant ? c.grant_id : 0;
  s.tokens_consumed = env.tokens_consumed;
  s.tokens_left = env.tokens_left;
  s.refill_in_ms = env.refill_in_ms;
  s.refill_rate = env.refill_rate;
  s.token_flow_reduction = env.token_flow_reduction;
  s.server_timestamp_ms = env.timestamp_ms;
  s.refused = env.http_status == 429;
  if (with_grant)
    ++st.n.settled;
  self->send(st.cfg.token, atom::settle_v, s);
}

/// The answer was lost after the request went out: Keepa may have charged
/// it. With the grant, this ends the grant; without, it only tells TOKEN
/// about a possible extra charge (a retry follows under the same grant).
void settle_unknown(client_pointer self, const call& c, bool with_grant) {
  auto& st = self->state;
  if (!st.cfg.token || c.grant_id == 0)
    return;
  settlement s;
  s.grant_id = with_grant ? c.grant_id : 0;
  s.tokens_consumed = with_grant ? 0 : c.cost;
  ++st.n.unconfirmed;
  if (with_grant)
    ++st.n.settled;
  self->send(st.cfg.token, atom::settle_v, s);
}

void release(client_pointer self, const call& c) {
  auto& st = self->state;
  if (!st.cfg.token || c.grant_id == 0)
    return;
  ++st.n.released;
  self->send(st.cfg.token, atom::release_v, c.grant_id);
}

void submit(client_pointer self, uint64_t id) {
  auto& st = self->state;
  ++st.n.transfers;
  auto& c = st.calls[id];
  c.sent = self->clock().now();
  st.io->submit(id, c.req);
}

/// Counts a finished transfer of `c` under `code` and times it.
void count_transfer(client_pointer self, const call& c,
                    const std::string& code) {
  auto& e = self->state.endpoints[c.req.path];
  ++e.by_code[code];
  auto elapsed
    = std::chrono::duration<double>(self->clock().now() - c.sent).count();
  auto i = std::lower_bound(std::begin(latency_bounds),
                            std::end(latency_bounds), elapsed)
    - std::begin(latency_bounds);
  ++e.buckets[static_cast<size_t>(i)];
  e.seconds += elapsed;
}

void note_success(client_pointer self) {
  auto& st = self->state;
  st.last_success_ms = st.io->unix_ms();
  st.n.auth_failures_in_row = 0;
}

void note_failure(client_pointer self, const call& c, const std::string& why) {
  auto& st = self->state;
  st.last_failure_ms = st.io->unix_ms();
  st.last_failure = c.req.path + ": " + redact(why, st.cfg.key);
}

/// Starts a call; the returned promise is delivered on completion.
caf::response_promise start(client_pointer self, call c) {
  auto& st = self->state;
  ++st.n.requests;
  c.rp = self->make_response_promise();
  auto rp = c.rp;
  auto id = st.next_transfer++;
  st.calls.emplace(id, std::move(c));
  submit(self, id);
  return rp;
}

/// Starts a call whose request mapping may refuse the query (`to_request`
/// answers an error): then the grant is released and the error answered.
template<class Page, class Query>
caf::result<Page>
start_checked(client_pointer self, call_kind what, const Query& q) {
  call c;
  c.what = what;
  c.grant_id = q.grant_id;
  c.cost = worst_case_cost(q);
  auto req = to_request(q);
  if (!req) {
    release(self, c);
    return std::move(req.error());
  }
  c.req = std::move(*req);
  return start(self, std::move(c));
}

void fail(client_pointer self, uint64_t id, caf::error err) {
  auto& st = self->state;
  auto i = st.calls.find(id);
  // An outage (Keepa out of reach, 5xx, 429) is a warning: the stages try
  // again later; anything else is an error.
  auto outage = err == ec::transport_error || err == ec::server_error
    || err == ec::not_enough_tokens;
  log(self, outage ? log_level::warning : log_level::error,
      describe(i->second) + " failed: " + render(err));
  i->second.rp.deliver(std::move(err));
  st.calls.erase(i);
}

bool retry_later(client_pointer self, uint64_t id, const std::string& why) {
  auto& st = self->state;
  auto& c = st.calls[id];
  if (c.attempt >= st.cfg.attempts)
    return false;
  auto delay = backoff(self, c.attempt);
  ++c.attempt;
  ++st.n.retries;
  log(self, log_level::warning,
      describe(c) + ": " + why + "; attempt " + std::to_string(c.attempt)
        + " of " + std::to_string(st.cfg.attempts) + " in "
        + std::to_string(delay.count() / 1000000) + " ms");
  self->delayed_send(self, delay, atom::retry_v, id);
  return true;
}

ec error_for_status(int32_t status) {
  switch (status) {
    case 400: return ec::request_rejected;
    case 401:
    case 403: return ec::key_refused;
    case 402: return ec::payment_required;
    case 404:
    case 405: return ec::not_found;
    case 429: return ec::not_enough_tokens;
    default: return status >= 500 ? ec::server_error : ec::request_rejected;
  }
}

std::string status_detail(const envelope& env) {
  auto result = "HTTP " + std::to_string(env.http_status);
  if (!env.error_type.empty())
    result += " " + env.error_type;
  if (!env.error_message.empty())
    result += ": " + env.error_message;
  return result;
}

/// Counts and logs what a parse left out or refused.
template<class Parsed>
void report_items(client_pointer self, const call& c, const Parsed& p) {
  auto& st = self->state;
  if (p.skipped > 0) {
    st.n.skipped_items += p.skipped;
    log(self, log_level::warning,
        describe(c) + ": left out " + std::to_string(p.skipped)
          + " unusable item(s) of the answer");
    for (auto& why : p.skip_reasons)
      log(self, log_level::warning, "  " + why);
  }
  if (p.titles_dropped > 0) {
    st.n.titles_dropped += p.titles_dropped;
    log(self, log_level::warning,
        describe(c) + ": dropped " + std::to_string(p.titles_dropped)
          + " title(s) that are not UTF-8");
  }
  if (!p.clock_refusal.empty()) {
    ++st.n.clock_refused;
    log(self, log_level::warning, describe(c) + ": " + p.clock_refusal);
  }
}

/// Parses the body for the call's endpoint; delivers the page on success.
template<class Page, class Parser>
void answer_with(client_pointer self, uint64_t id, transfer_result& res,
                 Parser parser) {
  auto& st = self->state;
  auto& c = st.calls[id];
  answer_limits limits;
  limits.now_unix_ms = st.io->unix_ms();
  limits.clock_tolerance_ms
    = std::chrono::duration_cast<std::chrono::milliseconds>(
        st.cfg.clock_tolerance)
        .count();
  if (c.what == call_kind::product)
    limits.max_products = c.max_items;
  auto p = parser(res.body, res.http_status, limits);
  auto& env = [&]() -> envelope& {
    if constexpr (std::is_same<Page, envelope>::value)
      return p.page;
    else
      return p.page.env;
  }();
  auto status = res.http_status;
  env.http_status = status;
  report_items(self, c, p);
  if (status == 200 && !p.err) {
    if (!p.envelope_ok && c.what == call_kind::token) {
      // A /token answer is nothing but its envelope.
      ++st.n.malformed;
      fail(self, id, caf::make_error(ec::malformed_answer, p.clock_refusal));
      return;
    }
    ++st.n.ok;
    note_success(self);
    if (p.envelope_ok)
      settle(self, c, env, true);
    else
      settle_unknown(self, c, true);
    c.rp.deliver(std::move(p.page));
    st.calls.erase(id);
    return;
  }
  note_failure(self, c,
               status == 200 ? "unreadable answer" : status_detail(env));
  if (status == 200) {
    // The request ran; its answer is unreadable.
    ++st.n.malformed;
    if (p.envelope_ok)
      settle(self, c, env, true);
    else
      settle_unknown(self, c, true);
    fail(self, id, std::move(p.err));
    return;
  }
  if (status >= 500) {
    ++st.n.server_errors;
    if (p.envelope_ok)
      settle(self, c, env, false);
    if (retry_later(self, id, "HTTP " + std::to_string(status)))
      return;
    release(self, c);
    fail(self, id,
         caf::make_error(ec::server_error,
                         redact(status_detail(env), st.cfg.key) + " after "
                           + std::to_string(c.attempt) + " attempts"));
    return;
  }
  if (status == 429)
    ++st.n.too_many;
  else
    ++st.n.client_errors;
  bool refused = status == 401 || status == 402 || status == 403;
  if (refused) {
    ++st.n.auth_failures;
    ++st.n.auth_failures_in_row;
  }
  // 4xx: the request did not run. Settle to learn the balance, or release.
  // A 429 always settles: it tells TOKEN that its model was wrong, even
  // when the envelope is missing or not to be trusted.
  if (p.envelope_ok) {
    settle(self, c, env, true);
  } else if (status == 429) {
    envelope refused;
    refused.http_status = 429;
    settle(self, c, refused, true);
  } else {
    release(self, c);
  }
  auto detail = redact(status_detail(env), st.cfg.key);
  auto path = c.req.path;
  fail(self, id, caf::make_error(error_for_status(status), detail));
  auto limit = st.cfg.max_auth_failures;
  if (refused && limit > 0 && st.n.auth_failures_in_row >= limit)
    self->quit(caf::make_error(
      ec::key_refused,
      "Keepa refused the API key " + std::to_string(st.n.auth_failures_in_row)
        + " times in a row (last: " + detail + " on " + path + ")"));
}

void on_transfer(client_pointer self, transfer_result& res) {
  auto& st = self->state;
  auto id = res.transfer_id;
  auto i = st.calls.find(id);
  if (i == st.calls.end())
    return;
  auto& c = i->second;
  st.n.bytes += res.body.size();
  count_transfer(self, c,
                 res.failure == transfer_failure::none
                   ? std::to_string(res.http_status)
                   : std::string{"none"});
  if (res.failure != transfer_failure::none)
    note_failure(self, c, res.detail.empty() ? "transfer failed" : res.detail);
  switch (res.failure) {
    case transfer_failure::connect:
      ++st.n.connect_failures;
      if (retry_later(self, id, "cannot connect: " + res.detail))
        return;
      release(self, c);
      fail(self, id, caf::make_error(ec::transport_error, res.detail));
      return;
    case transfer_failure::timeout:
    case transfer_failure::reset: {
      auto timed_out = res.failure == transfer_failure::timeout;
      ++(timed_out ? st.n.timeouts : st.n.resets);
      auto why = std::string{timed_out ? "timeout: " : "reset: "} + res.detail;
      if (c.attempt < st.cfg.attempts) {
        settle_unknown(self, c, false);
        retry_later(self, id, why);
        return;
      }
      settle_unknown(self, c, true);
      fail(self, id,
           caf::make_error(ec::server_error,
                           why + " after " + std::to_string(c.attempt)
                             + " attempts"));
      return;
    }
    case transfer_failure::too_large:
      ++st.n.too_large;
      settle_unknown(self, c, true);
      fail(self, id, caf::make_error(ec::answer_too_large, res.detail));
      return;
    case transfer_failure::none: break;
  }
  switch (c.what) {
    case call_kind::token:
      answer_with<envelope>(self, id, res, parse_envelope);
      break;
    case call_kind::product:
      answer_with<product_page>(self, id, res, parse_product_page);
      break;
    case call_kind::deal:
      answer_with<deal_page>(self, id, res, parse_deal_page);
      break;
    case call_kind::seller:
      answer_with<seller_page>(self, id, res, parse_seller_page);
      break;
    case call_kind::finder:
      answer_with<finder_page>(self, id, res, parse_finder_page);
      break;
  }
}

caf::settings to_settings(client_pointer self) {
  auto& st = self->state;
  caf::settings result;
  // The endpoint never holds the key (it is added per request).
  result.emplace("endpoint", st.cfg.endpoint);
  result.emplace("in-flight", static_cast<int64_t>(st.calls.size()));
  auto put = [&](std::string key, uint64_t x) {
    result.emplace(std::move(key), static_cast<int64_t>(x));
  };
  auto& n = st.n;
  put("requests", n.requests);
  put("transfers", n.transfers);
  put("ok", n.ok);
  put("http-429", n.too_many);
  put("http-4xx", n.client_errors);
  put("http-5xx", n.server_errors);
  put("timeouts", n.timeouts);
  put("resets", n.resets);
  put("connect-failures", n.connect_failures);
  put("malformed", n.malformed);
  put("too-large", n.too_large);
  put("skipped-items", n.skipped_items);
  put("titles-dropped", n.titles_dropped);
  put("clock-refused", n.clock_refused);
  put("retries", n.retries);
  put("settled", n.settled);
  put("released", n.released);
  put("unconfirmed", n.unconfirmed);
  put("bytes", n.bytes);
  put("auth-failures", n.auth_failures);
  put("auth-failures-in-row", n.auth_failures_in_row);
  result.emplace("last-success-unix-ms", st.last_success_ms);
  result.emplace("last-failure-unix-ms", st.last_failure_ms);
  if (!st.last_failure.empty())
    result.emplace("last-failure", st.last_failure);
  caf::settings answers;
  caf::settings latency;
  for (auto& [path, e] : st.endpoints) {
    caf::settings codes;
    for (auto& [code, count] : e.by_code)
      codes.emplace(code, static_cast<int64_t>(count));
    answers.emplace(path, std::move(codes));
    caf::settings h;
    std::vector<caf::config_value> le;
    for (auto b : latency_bounds)
      le.emplace_back(b);
    std::vector<caf::config_value> counts;
    for (auto x : e.buckets)
      counts.emplace_back(static_cast<int64_t>(x));
    h.emplace("le", std::move(le));
    h.emplace("counts", std::move(counts));
    h.emplace("sum", e.seconds);
    latency.emplace(path, std::move(h));
  }
  result.emplace("answers", std::move(answers));
  result.emplace("latency", std::move(latency));
  return result;
}

keepa_client_actor::behavior_type client(client_pointer self,
                                         client_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  std::random_device rd;
  st.rng.seed(st.cfg.seed != 0 ? st.cfg.seed
                               : (uint64_t{rd()} << 32) ^ uint64_t{rd()});
  auto weak = caf::actor_cast<caf::weak_actor_ptr>(self);
  transport_env env;
  env.key = st.cfg.key;
  env.opts = st.cfg.transport;
  env.deliver = [weak](transfer_result res) {
    if (auto strong = weak.lock())
      caf::anon_send(caf::actor_cast<keepa_client_actor>(strong),
                     atom::transfer_v, std::move(res));
  };
  env.deliver_after = [self](caf::timespan delay, transfer_result res) {
    if (delay.count() > 0)
      self->delayed_send(self, delay, atom::transfer_v, std::move(res));
    else
      self->send(self, atom::transfer_v, std::move(res));
  };
  env.now = [self] { return self->clock().now(); };
  if (st.cfg.make_transport)
    st.io = st.cfg.make_transport(std::move(env));
  else
    st.io = make_curl_transport(st.cfg.endpoint, std::move(env.key),
                                std::move(env.opts), std::move(env.deliver));
  return {
    [self](atom::product, product_query& q) -> caf::result<product_page> {
      call c;
      c.what = call_kind::product;
      c.grant_id = q.grant_id;
      if (auto err = check(q)) {
        release(self, c);
        return err;
      }
      c.cost = worst_case_cost(q);
      c.max_items = q.asins.size();
      c.req = to_request(q);
      return start(self, std::move(c));
    },
    [self](atom::deal, deal_query& q) -> caf::result<deal_page> {
      return start_checked<deal_page>(self, call_kind::deal, q);
    },
    [self](atom::seller, seller_query& q) -> caf::result<seller_page> {
      call c;
      c.what = call_kind::seller;
      c.grant_id = q.grant_id;
      if (q.seller_ids.empty() || q.seller_ids.size() > 100) {
        release(self, c);
        return caf::make_error(ec::request_rejected,
                               "a seller request needs 1 to 100 ids");
      }
      c.cost = worst_case_cost(q);
      c.req = to_request(q);
      return start(self, std::move(c));
    },
    [self](atom::finder, finder_query& q) -> caf::result<finder_page> {
      return start_checked<finder_page>(self, call_kind::finder, q);
    },
    [self](atom::probe) -> caf::result<envelope> {
      call c;
      c.what = call_kind::token;
      c.req.path = "/token";
      return start(self, std::move(c));
    },
    [self](atom::transfer, transfer_result& res) { on_transfer(self, res); },
    [self](atom::retry, uint64_t id) {
      if (self->state.calls.count(id) > 0)
        submit(self, id);
    },
    [self](atom::status) {
      auto xs = to_settings(self);
      put_mailbox(self, xs);
      return xs;
    },
  };
}

} // namespace

keepa_client_actor spawn_keepa_client(caf::actor_system& sys,
                                      client_config cfg) {
  return sys.spawn(client, std::move(cfg));
}

} // namespace keepa
