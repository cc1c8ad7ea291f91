#include "actors/pipeline/report.hpp"

#include <chrono>
#include <climits>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <utility>
#include <algorithm>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <caf/config_value.hpp>

#include "messages/error.hpp"
#include "messages/keepa.hpp"

namespace keepa {

namespace {

int64_t to_ms(caf::timespan x) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(x).count();
}

// -- JSON
// ----------------------------------------------------------------------

using writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(writer& w, const std::string& x) {
  w.String(x.data(), static_cast<rapidjson::SizeType>(x.size()));
}

void write_value(writer& w, const caf::config_value& x);

void write_settings(writer& w, const caf::settings& xs) {
  w.StartObject();
  for (auto& kvp : xs) {
    write_string(w, kvp.first);
    write_value(w, kvp.second);
  }
  w.EndObject();
}

void write_value(writer& w, const caf::config_value& x) {
  auto& v = x.get_data();
  if (auto i = caf::get_if<int64_t>(&v)) {
    w.Int64(*i);
  } else if (auto b = caf::get_if<bool>(&v)) {
    w.Bool(*b);
  } else if (auto d = caf::get_if<double>(&v)) {
    w.Double(*d);
  } else if (auto s = caf::get_if<std::string>(&v)) {
    write_string(w, *s);
  } else if (auto t = caf::get_if<caf::timespan>(&v)) {
    // Durations as milliseconds (fractions kept).
    w.Double(static_cast<double>(t->count()) / 1e6);
  } else if (auto xs = caf::get_if<caf::config_value::list>(&v)) {
    w.StartArray();
    for (auto& y : *xs)
      write_value(w, y);
    w.EndArray();
  } else if (auto m = caf::get_if<caf::config_value::dictionary>(&v)) {
    write_settings(w, *m);
  } else {
    write_string(w, caf::to_string(x));
  }
}

/// Failures of actor `name` as one monotonic count.
int64_t errors_of(const pipeline_report& r, const std::string& name) {
  if (name == "client" || name == "probe-client") {
    int64_t n = 0;
    for (auto key : {"http-4xx", "http-5xx", "timeouts", "resets",
                     "connect-failures", "malformed", "too-large"})
      n += r.num(name, key);
    return n;
  }
  if (name == "storage")
    return r.num(name, "failures");
  return r.num(name, "errors");
}

int64_t consumed_by(const token_totals& t, stage s) {
  auto i = static_cast<size_t>(s);
  return i < t.consumed_by_stage.size() ? t.consumed_by_stage[i] : 0;
}

constexpr stage all_stages[] = {stage::commit, stage::peek, stage::scan,
                                stage::update};

/// The actor that spends for stage `s` (the metrics' one label for a part
/// of the pipeline is `actor`).
const char* actor_of(stage s) {
  switch (s) {
    case stage::commit: return "committer";
    case stage::peek: return "peek-filter";
    case stage::scan: return "scanner";
    case stage::update: return "updater";
  }
  return "unknown";
}

/// Both KEEPA CLIENTs: the stages' and TOKEN's probe client.
constexpr const char* client_names[] = {"client", "probe-client"};

/// Requests by endpoint and code, and their latency, from the `answers` and
/// `latency` of both clients' status.
void add_request_metrics(prometheus::Registry& reg, const pipeline_report& r) {
  std::map<std::pair<std::string, std::string>, int64_t> requests;
  struct merged {
    std::vector<double> bounds;
    std::vector<double> counts;
    double sum = 0;
  };
  std::map<std::string, merged> latency;
  for (auto name : client_names) {
    auto* st = r.status_of(name);
    if (st == nullptr)
      continue;
    if (auto answers = caf::get_if<caf::settings>(st, "answers"))
      for (auto& [path, codes] : *answers)
        if (auto xs = caf::get_if<caf::settings>(&codes))
          for (auto& [code, n] : *xs)
            if (auto i = caf::get_if<int64_t>(&n))
              requests[std::make_pair(path, code)] += *i;
    if (auto hs = caf::get_if<caf::settings>(st, "latency"))
      for (auto& [path, h] : *hs) {
        auto xs = caf::get_if<caf::settings>(&h);
        if (!xs)
          continue;
        auto bounds = caf::get_or(*xs, "le", std::vector<double>{});
        auto counts = caf::get_or(*xs, "counts", std::vector<int64_t>{});
        if (counts.size() != bounds.size() + 1)
          continue;
        auto& m = latency[path];
        if (m.bounds.empty()) {
          m.bounds = bounds;
          m.counts.assign(counts.size(), 0);
        }
        if (m.bounds != bounds)
          continue;
        for (size_t i = 0; i < counts.size(); ++i)
          m.counts[i] += static_cast<double>(counts[i]);
        m.sum += caf::get_or(*xs, "sum", 0.0);
      }
  }
  auto& total = prometheus::BuildCounter()
                  .Name("keepa_requests_total")
                  .Help("Transfers to Keepa (each attempt) by endpoint and "
                        "HTTP status code; code \"none\" when none came "
                        "(cannot connect, timeout, reset, too large).")
                  .Register(reg);
  for (auto& [key, n] : requests)
    total.Add({{"endpoint", key.first}, {"code", key.second}})
      .Increment(static_cast<double>(n));
  auto& seconds = prometheus::BuildHistogram()
                    .Name("keepa_request_duration_seconds")
                    .Help("Time from sending a transfer to Keepa to its "
                          "answer or failure, by endpoint.")
                    .Register(reg);
  for (auto& [path, m] : latency)
    seconds.Add({{"endpoint", path}}, m.bounds)
      .ObserveMultiple(m.counts, m.sum);
  auto answers = keepa_answers_of(r);
  prometheus::BuildCounter()
    .Name("keepa_auth_failures_total")
    .Help("Answers 401, 402 or 403: Keepa refused the API key.")
    .Register(reg)
    .Add({})
    .Increment(static_cast<double>(answers.auth_failures));
  prometheus::BuildGauge()
    .Name("keepa_last_success_timestamp_seconds")
    .Help("Unix time of the newest successful Keepa answer (0 before the "
          "first).")
    .Register(reg)
    .Add({})
    .Set(static_cast<double>(answers.last_success_unix_ms) / 1000);
}

// -- text
// ----------------------------------------------------------------------

std::string seconds(caf::timespan x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f s",
                static_cast<double>(to_ms(x)) / 1000.0);
  return buf;
}

} // namespace

keepa_answers keepa_answers_of(const pipeline_report& r) {
  keepa_answers result;
  for (auto name : client_names) {
    auto* st = r.status_of(name);
    if (st == nullptr)
      continue;
    auto num = [&](const char* key) {
      return caf::get_or(*st, key, int64_t{0});
    };
    result.auth_failures += num("auth-failures");
    result.auth_failures_in_row = std::max(result.auth_failures_in_row,
                                           num("auth-failures-in-row"));
    result.last_success_unix_ms = std::max(result.last_success_unix_ms,
                                           num("last-success-unix-ms"));
    auto failed = num("last-failure-unix-ms");
    if (failed > result.last_failure_unix_ms) {
      result.last_failure_unix_ms = failed;
      result.last_failure = caf::get_or(*st, "last-failure", std::string{});
    }
  }
  return result;
}

const caf::settings* pipeline_report::status_of(const std::string& name) const {
  for (auto& a : actors)
    if (a.name == name)
      return a.ok ? &a.status : nullptr;
  return nullptr;
}

deal_counts deals_of(const pipeline_report& r) {
  return {r.num("scanner", "candidates"),
          r.num("scanner", "pre-rejected") + r.num("scanner", "remembered"),
          r.num("peek-filter", "peeked"),
          r.num("committer", "committed"),
          r.num("peek-filter", "rejected") + r.num("committer", "rejected"),
          r.num("updater", "refreshed")};
}

int64_t pipeline_report::num(const std::string& name,
                             const std::string& key) const {
  auto xs = status_of(name);
  return xs != nullptr ? caf::get_or(*xs, key, int64_t{0}) : 0;
}

caf::expected<run_sample> run_sample_of(const pipeline_report& r) {
  auto st = r.status_of("storage");
  const caf::settings* run = nullptr;
  if (st != nullptr)
    if (auto i = st->find("run"); i != st->end())
      run = caf::get_if<caf::settings>(&i->second);
  if (run == nullptr)
    return caf::make_error(ec::invalid_config,
                           "storage reports no run "
                           "counters");
  state_values xs;
  for (auto& [key, value] : *run)
    if (auto n = caf::get_if<int64_t>(&value))
      xs.emplace_back(run_state_prefix + key, std::to_string(*n));
  auto result = sample_from_state(xs);
  if (result)
    result->stored = r.counts_ok
      ? r.counts.deals
      : static_cast<uint64_t>(caf::get_or(*run, "stored", int64_t{0}));
  return result;
}

caf::expected<eta_answer> eta_to_max_deals(const pipeline_report& r) {
  if (r.max_deals == 0)
    return caf::make_error(ec::invalid_config, "no keepa.max-deals");
  auto sample = run_sample_of(r);
  if (!sample)
    return std::move(sample.error());
  auto mix = fit(*sample);
  if (!mix)
    return std::move(mix.error());
  auto done = static_cast<uint64_t>(
    std::max<int64_t>(r.num("committer", "committed"), 0));
  // Before TOKEN's first observation (rate 0) the plan the counters last
  // saw stands in.
  eta_plan plan;
  auto observed = r.token_ok && r.token.refill_rate > 0;
  plan.refill_rate = observed ? r.token.refill_rate : sample->refill_rate;
  plan.balance = observed ? r.token.projected : 0;
  return estimate(*mix, plan, sample->stored,
                  r.max_deals > done ? r.max_deals - done : 0);
}

std::string to_json(const pipeline_report& r) {
  rapidjson::StringBuffer buf;
  writer w{buf};
  w.StartObject();
  w.Key("unix_ms");
  w.Int64(r.unix_ms);
  w.Key("token");
  if (!r.token_ok) {
    w.Null();
  } else {
    auto& t = r.token;
    w.StartObject();
    w.Key("balance");
    w.Int64(t.projected);
    w.Key("outstanding");
    w.Int64(t.outstanding);
    w.Key("refill_rate");
    w.Int64(t.refill_rate);
    w.Key("cap");
    w.Int64(t.cap);
    w.Key("floor");
    w.Int64(t.floor);
    w.Key("profile");
    write_string(w, t.profile);
    w.Key("mode");
    write_string(w, t.mode);
    w.Key("waiting_for");
    w.Int64(t.waiting_for);
    w.Key("eta_ms");
    if (t.queue.empty())
      w.Null();
    else
      w.Int64(to_ms(t.queue.front().eta));
    w.Key("next_refill_ms");
    w.Int64(to_ms(t.next_refill));
    w.Key("observation_age_ms");
    w.Int64(to_ms(t.observation_age));
    w.Key("queue");
    w.StartArray();
    for (auto& e : t.queue) {
      w.StartObject();
      w.Key("ticket");
      w.Uint64(e.ticket);
      w.Key("consumer");
      write_string(w, e.consumer);
      w.Key("stage");
      w.String(to_string(e.what));
      w.Key("tokens");
      w.Int64(e.cost);
      w.Key("eta_ms");
      w.Int64(to_ms(e.eta));
      w.EndObject();
    }
    w.EndArray();
    auto& n = t.totals;
    w.Key("totals");
    w.StartObject();
    w.Key("granted");
    w.Int64(n.granted);
    w.Key("consumed");
    w.Int64(n.consumed);
    w.Key("released");
    w.Int64(n.released);
    w.Key("lost_at_cap");
    w.Int64(n.lost_at_cap);
    w.Key("grants");
    w.Uint64(n.grants);
    w.Key("waits");
    w.Uint64(n.waits);
    w.Key("settlements");
    w.Uint64(n.settlements);
    w.Key("probes");
    w.Uint64(n.probes);
    w.Key("unconfirmed");
    w.Uint64(n.unconfirmed);
    w.Key("consumed_by_stage");
    w.StartObject();
    for (auto s : all_stages) {
      w.Key(to_string(s));
      w.Int64(consumed_by(n, s));
    }
    w.EndObject();
    w.EndObject();
    w.EndObject();
  }
  w.Key("storage");
  if (!r.counts_ok) {
    w.Null();
  } else {
    w.StartObject();
    w.Key("deals");
    w.Uint64(r.counts.deals);
    w.Key("rejections");
    w.Uint64(r.counts.rejections);
    w.Key("pending");
    w.Uint64(r.counts.pending);
    w.Key("schema_version");
    w.Int(r.counts.schema_version);
    w.Key("watermark");
    w.StartObject();
    w.Key("last_update");
    w.Int64(r.counts.watermark.last_update);
    w.Key("asin");
    write_string(w, r.counts.watermark.asin);
    w.EndObject();
    w.EndObject();
  }
  auto dc = deals_of(r);
  w.Key("deals");
  w.StartObject();
  w.Key("scanned");
  w.Int64(dc.scanned);
  w.Key("pre_rejected");
  w.Int64(dc.pre_rejected);
  w.Key("peeked");
  w.Int64(dc.peeked);
  w.Key("committed");
  w.Int64(dc.committed);
  w.Key("rejected");
  w.Int64(dc.rejected);
  w.Key("updated");
  w.Int64(dc.updated);
  w.EndObject();
  auto ka = keepa_answers_of(r);
  w.Key("keepa");
  w.StartObject();
  w.Key("auth_failures");
  w.Int64(ka.auth_failures);
  w.Key("auth_failures_in_row");
  w.Int64(ka.auth_failures_in_row);
  w.Key("last_success_unix_ms");
  w.Int64(ka.last_success_unix_ms);
  w.Key("last_failure_unix_ms");
  w.Int64(ka.last_failure_unix_ms);
  w.Key("last_failure");
  write_string(w, ka.last_failure);
  w.EndObject();
  if (r.max_deals > 0) {
    // The ETA to keepa.max-deals (null while it cannot be fitted or is out
    // of reach; `eta` says why).
    auto eta = eta_to_max_deals(r);
    w.Key("eta_to_max_deals_seconds");
    if (eta && eta->reachable)
      w.Double(std::chrono::duration<double>(eta->time).count());
    else
      w.Null();
    w.Key("eta");
    w.StartObject();
    w.Key("max_deals");
    w.Uint64(r.max_deals);
    if (!eta) {
      w.Key("error");
      write_string(w, render(eta.error()));
    } else {
      w.Key("reachable");
      w.Bool(eta->reachable);
      w.Key("deals_per_hour");
      w.Double(eta->deals_per_hour);
      w.Key("limit");
      w.String(eta->plan_limited ? "plan" : "feed");
      w.Key("ceiling");
      w.Uint64(eta->ceiling);
      if (auto mix = fit(*run_sample_of(r))) {
        w.Key("basis");
        write_string(w, describe(*mix));
      }
    }
    w.EndObject();
  }
  w.Key("actors");
  w.StartObject();
  for (auto& a : r.actors) {
    write_string(w, a.name);
    if (a.ok) {
      write_settings(w, a.status);
    } else {
      w.StartObject();
      w.Key("error");
      write_string(w, a.error);
      w.EndObject();
    }
  }
  w.EndObject();
  w.EndObject();
  return buf.GetString();
}

void add_metrics(prometheus::Registry& reg, const pipeline_report& r) {
  using prometheus::Labels;
  auto gauge = [&](const char* name, const char* help) -> auto& {
    return prometheus::BuildGauge().Name(name).Help(help).Register(reg);
  };
  auto counter = [&](const char* name, const char* help) -> auto& {
    return prometheus::BuildCounter().Name(name).Help(help).Register(reg);
  };
  auto count = [](prometheus::Family<prometheus::Counter>& f,
                  const Labels& labels, int64_t x) {
    f.Add(labels).Increment(static_cast<double>(std::max(x, int64_t{0})));
  };
  auto set = [](prometheus::Family<prometheus::Gauge>& f, const Labels& labels,
                double x) { f.Add(labels).Set(x); };
  auto& up = gauge("keepa_actor_up",
                   "1 if the actor answered the status request, else 0.");
  for (auto& a : r.actors)
    set(up, {{"actor", a.name}}, a.ok ? 1 : 0);
  if (r.token_ok) {
    auto& t = r.token;
    set(gauge("keepa_token_balance",
              "Projected token balance, unsettled grants counted as spent."),
        {}, static_cast<double>(t.projected));
    set(gauge("keepa_token_outstanding",
              "Tokens granted but not yet settled or released."),
        {}, static_cast<double>(t.outstanding));
    set(gauge("keepa_token_refill_rate_tokens_per_minute",
              "Tokens Keepa refills per minute."),
        {}, static_cast<double>(t.refill_rate));
    set(gauge("keepa_token_cap", "Largest balance the bucket holds."), {},
        static_cast<double>(t.cap));
    set(gauge("keepa_token_floor",
              "Lowest projected balance a grant may leave (the profile's "
              "floor)."),
        {}, static_cast<double>(t.floor));
    set(gauge("keepa_token_waiting_for",
              "Balance the head of the queue waits for (0 if nobody waits)."),
        {}, static_cast<double>(t.waiting_for));
    set(gauge("keepa_token_queue_length",
              "Requests waiting in the TOKEN actor's queue."),
        {}, static_cast<double>(t.queue.size()));
    if (t.mode != "unknown")
      set(gauge("keepa_token_observation_age_seconds",
                "Age of TOKEN's newest balance observation from Keepa."),
          {}, std::chrono::duration<double>(t.observation_age).count());
    auto& consumed = counter("keepa_tokens_consumed_total",
                             "Tokens Keepa reported as consumed, by the "
                             "actor that spent them.");
    for (auto s : all_stages)
      count(consumed, {{"actor", actor_of(s)}}, consumed_by(t.totals, s));
    count(counter("keepa_tokens_granted_total",
                  "Tokens handed out in grants (worst-case costs)."),
          {}, t.totals.granted);
    count(counter("keepa_tokens_released_total",
                  "Tokens of grants released unused."),
          {}, t.totals.released);
    count(counter("keepa_tokens_lost_at_cap_total",
                  "Refill tokens lost because the bucket was full."),
          {}, t.totals.lost_at_cap);
    count(counter("keepa_token_waits_total",
                  "Recharge-waits the TOKEN actor answered."),
          {}, static_cast<int64_t>(t.totals.waits));
  }
  auto dc = deals_of(r);
  auto& deals = counter("keepa_deals_total", "Deals by outcome.");
  count(deals, {{"outcome", "scanned"}}, dc.scanned);
  count(deals, {{"outcome", "pre-rejected"}}, dc.pre_rejected);
  count(deals, {{"outcome", "peeked"}}, dc.peeked);
  count(deals, {{"outcome", "committed"}}, dc.committed);
  count(deals, {{"outcome", "rejected"}}, dc.rejected);
  count(deals, {{"outcome", "updated"}}, dc.updated);
  add_request_metrics(reg, r);
  auto& errors = counter("keepa_errors_total",
                         "Failures by actor (transport and HTTP errors of "
                         "the clients, failed transactions of storage, "
                         "failed batches of the stages).");
  for (auto name : {"client", "probe-client", "storage", "scanner",
                    "peek-filter", "committer", "updater"})
    if (r.status_of(name) != nullptr)
      count(errors, {{"actor", name}}, errors_of(r, name));
  auto& in_flight = gauge("keepa_stage_in_flight",
                          "Batches in flight by actor.");
  auto& queued = gauge("keepa_stage_queued", "Deals queued by actor.");
  for (auto name : {"peek-filter", "committer"})
    if (r.status_of(name) != nullptr) {
      set(in_flight, {{"actor", name}},
          static_cast<double>(r.num(name, "in-flight")));
      set(queued, {{"actor", name}},
          static_cast<double>(r.num(name, "queued")));
    }
  if (auto* st = r.status_of("storage"))
    set(gauge("keepa_storage_writable",
              "1 while STORAGE can write, 0 during an outage."),
        {}, caf::get_or(*st, "writable", false) ? 1 : 0);
  if (r.counts_ok) {
    set(gauge("keepa_stored_deals", "Deals in the database."), {},
        static_cast<double>(r.counts.deals));
    set(gauge("keepa_stored_rejections", "Rejections in the database."), {},
        static_cast<double>(r.counts.rejections));
    auto mark = r.counts.watermark.last_update;
    set(gauge("keepa_watermark_timestamp_seconds",
              "Durable scan watermark: the feed position's lastUpdate as "
              "Unix time (0 before the first)."),
        {},
        mark > 0 ? static_cast<double>(unix_ms_from_keepa_minute(mark)) / 1000
                 : 0);
  }
}

std::string to_metrics(const pipeline_report& r) {
  prometheus::Registry reg;
  add_metrics(reg, r);
  return prometheus::TextSerializer{}.Serialize(reg.Collect());
}

std::string to_text(const pipeline_report& r) {
  std::string out;
  auto line = [&](const std::string& x) { out += x + '\n'; };
  if (r.token_ok) {
    auto& t = r.token;
    line("token: balance " + std::to_string(t.projected) + " (outstanding "
         + std::to_string(t.outstanding) + "), " + t.mode + ", refill "
         + std::to_string(t.refill_rate) + "/min, cap " + std::to_string(t.cap)
         + ", floor " + std::to_string(t.floor) + ", profile " + t.profile);
    if (t.waiting_for != 0 && !t.queue.empty())
      line("  waits for balance " + std::to_string(t.waiting_for) + ", ETA "
           + seconds(t.queue.front().eta));
    else
      line("  waits for nothing");
    line("  next refill in " + seconds(t.next_refill) + ", newest observation "
         + seconds(t.observation_age) + " old");
    line("  queue: " + std::to_string(t.queue.size()) + " waiting");
    for (auto& e : t.queue)
      line("    ticket " + std::to_string(e.ticket) + "  " + e.consumer + " ("
           + to_string(e.what) + ")  " + std::to_string(e.cost)
           + " tokens  ETA " + seconds(e.eta));
    auto& n = t.totals;
    std::string by;
    for (auto s : all_stages)
      by += std::string{by.empty() ? "" : ", "} + to_string(s) + " "
        + std::to_string(consumed_by(n, s));
    line("  consumed " + std::to_string(n.consumed) + " (" + by + "), granted "
         + std::to_string(n.granted) + ", released "
         + std::to_string(n.released) + ", lost at cap "
         + std::to_string(n.lost_at_cap));
  } else {
    line("token: no snapshot");
  }
  if (r.counts_ok)
    line("storage: " + std::to_string(r.counts.deals) + " deals, "
         + std::to_string(r.counts.rejections) + " rejections, "
         + std::to_string(r.counts.pending) + " pending, watermark "
         + std::to_string(r.counts.watermark.last_update));
  auto dc = deals_of(r);
  line(
    "deals: scanned " + std::to_string(dc.scanned) + ", pre-rejected "
    + std::to_string(dc.pre_rejected) + ", peeked " + std::to_string(dc.peeked)
    + ", committed " + std::to_string(dc.committed) + ", rejected "
    + std::to_string(dc.rejected) + ", updated " + std::to_string(dc.updated));
  for (auto& a : r.actors) {
    if (!a.ok) {
      line(a.name + ": no answer (" + a.error + ")");
      continue;
    }
    std::string xs;
    for (auto& kvp : a.status) {
      auto v = caf::to_string(kvp.second);
      xs += "  " + kvp.first + "=" + v;
    }
    if (a.status.count("mailbox") == 0)
      xs += "  mailbox=n/a";
    line(a.name + ":" + xs);
  }
  return out;
}

/// Whether the SCANNER says the feed, not the plan, is the limit.
bool feed_limited(const pipeline_report& r) {
  auto* st = r.status_of("scanner");
  if (st == nullptr)
    return false;
  auto feed = caf::get_if<std::string>(st, "feed");
  return feed && *feed == "feed-limited";
}

std::string status_line(const pipeline_report& r, const status_view& view) {
  // The fields, their groups and drop ranks: status_line.hpp.
  auto& t = r.token;
  auto n = [](int64_t x) { return std::to_string(x); };
  std::vector<status_field> fields;
  auto add = [&](int group, std::string text, int rank = INT_MAX) {
    status_field f;
    f.group = group;
    f.text = std::move(text);
    f.rank = rank;
    fields.push_back(std::move(f));
    return &fields.back();
  };
  if (!r.token_ok || t.mode == "unknown" || t.mode.empty()) {
    add(0, "balance not known yet, asking Keepa");
  } else {
    add(0, "balance " + n(t.projected));
    // A mode with its reason ("budget server unreachable (HOST:PORT): ...",
    // "held (storage: ...)") keeps its first words when the reason does
    // not fit.
    auto mode = add(1, t.mode, 90);
    if (auto cut = t.mode.find(" ("); cut != std::string::npos) {
      mode->rank = 13;
      mode->short_text = t.mode.substr(0, cut);
      mode->short_rank = 90;
    }
    if (t.waiting_for != 0 && !t.queue.empty()) {
      auto eta = t.queue.front().eta;
      auto known = eta.count() >= 0;
      auto in = known ? ", in " + human_duration(eta) : std::string{};
      auto wait = add(
        1, "waiting until the balance reaches " + n(t.waiting_for) + in, 12);
      wait->sep = ", ";
      wait->short_text = "until balance " + n(t.waiting_for) + in;
      wait->short_rank = 70;
    }
  }
  auto dc = deals_of(r);
  add(2, "committed " + n(dc.committed));
  if (view.elapsed && *view.elapsed >= std::chrono::minutes{1}) {
    auto secs
      = std::chrono::duration_cast<std::chrono::seconds>(*view.elapsed).count();
    add(2, n(dc.committed * 3600 / secs) + " deals/h", 50)->sep = ", ";
  }
  add(3, "scanned " + n(dc.scanned), 20);
  add(3, "pre-rejected " + n(dc.pre_rejected), 11);
  add(3, "peeked " + n(dc.peeked), 25);
  add(3, "rejected " + n(dc.rejected), 15);
  add(3, "updated " + n(dc.updated), 10);
  add(4,
      "tokens/deal "
        + (dc.committed > 0 ? n(t.totals.consumed / dc.committed) : "-"),
      30);
  if (feed_limited(r))
    add(5, "feed-limited", 35);
  if (view.elapsed)
    add(6, "up " + human_duration(*view.elapsed), 40);
  if (r.max_deals > 0) {
    // The ETA to keepa.max-deals, by the model keepa-eta fits.
    auto eta = eta_to_max_deals(r);
    add(7,
        !eta                ? "max-deals ETA: fitting"
          : !eta->reachable ? "max-deals out of reach"
                            : "max-deals in " + human_duration(eta->time),
        45);
  }
  // A refused key is what a user must see first.
  if (auto refused = keepa_answers_of(r).auth_failures; refused > 0)
    add(8, "auth failures " + n(refused), 95);
  return fit_fields(fields, view.width);
}

} // namespace keepa
