#include "actors/pipeline/report.hpp"

#include <chrono>
#include <climits>
#include <cinttypes>
#include <cstdio>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <caf/config_value.hpp>

#include "messages/error.hpp"

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

/// Deals by stage, as the status line counts them.
struct deal_counts {
  int64_t scanned, pre_rejected, peeked, committed, rejected, updated;
};

deal_counts deals_of(const pipeline_report& r) {
  return {r.num("scanner", "candidates"),
          r.num("scanner", "pre-rejected") + r.num("scanner", "remembered"),
          r.num("peek-filter", "peeked"),
          r.num("committer", "committed"),
          r.num("peek-filter", "rejected") + r.num("committer", "rejected"),
          r.num("updater", "refreshed")};
}

/// Failures of actor `name` as one monotonic count.
int64_t errors_of(const pipeline_report& r, const std::string& name) {
  if (name == "client") {
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

// -- text
// ----------------------------------------------------------------------

std::string seconds(caf::timespan x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f s",
                static_cast<double>(to_ms(x)) / 1000.0);
  return buf;
}

} // namespace

const caf::settings* pipeline_report::status_of(const std::string& name) const {
  for (auto& a : actors)
    if (a.name == name)
      return a.ok ? &a.status : nullptr;
  return nullptr;
}

int64_t pipeline_report::num(const std::string& name,
                             const std::string& key) const {
  auto xs = status_of(name);
  return xs != nullptr ? caf::get_or(*xs, key, int64_t{0}) : 0;
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

std::string to_metrics(const pipeline_report& r) {
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
  };
  auto sample = [&](const char* name, const std::string& labels, int64_t x) {
    out += name;
    if (!labels.empty())
      out += '{' + labels + '}';
    out += ' ';
    out += std::to_string(x);
    out += '\n';
  };
  auto label = [](const char* key, const std::string& value) {
    // Our label values never hold quotes, backslashes or newlines.
    return std::string{key} + "=\"" + value + "\"";
  };
  family("keepa_actor_up", "gauge",
         "1 if the actor answered the status request, else 0.");
  for (auto& a : r.actors)
    sample("keepa_actor_up", label("actor", a.name), a.ok ? 1 : 0);
  if (r.token_ok) {
    auto& t = r.token;
    family("keepa_token_balance", "gauge",
           "Projected token balance, unsettled grants counted as spent.");
    sample("keepa_token_balance", "", t.projected);
    family("keepa_token_outstanding", "gauge",
           "Tokens granted but not yet settled or released.");
    sample("keepa_token_outstanding", "", t.outstanding);
    family("keepa_token_refill_rate", "gauge",
           "Tokens Keepa refills per minute.");
    sample("keepa_token_refill_rate", "", t.refill_rate);
    family("keepa_token_cap", "gauge", "Largest balance the bucket holds.");
    sample("keepa_token_cap", "", t.cap);
    family("keepa_token_waiting_for", "gauge",
           "Balance the head of the queue waits for (0 if nobody waits).");
    sample("keepa_token_waiting_for", "", t.waiting_for);
    family("keepa_token_queue_length", "gauge",
           "Requests waiting in the TOKEN actor's queue.");
    sample("keepa_token_queue_length", "",
           static_cast<int64_t>(t.queue.size()));
    family("keepa_tokens_consumed_total", "counter",
           "Tokens Keepa reported as consumed, by purpose (pipeline stage).");
    for (auto s : all_stages)
      sample("keepa_tokens_consumed_total", label("purpose", to_string(s)),
             consumed_by(t.totals, s));
    family("keepa_tokens_granted_total", "counter",
           "Tokens handed out in grants (worst-case costs).");
    sample("keepa_tokens_granted_total", "", t.totals.granted);
    family("keepa_tokens_released_total", "counter",
           "Tokens of grants released unused.");
    sample("keepa_tokens_released_total", "", t.totals.released);
    family("keepa_tokens_lost_at_cap_total", "counter",
           "Refill tokens lost because the bucket was full.");
    sample("keepa_tokens_lost_at_cap_total", "", t.totals.lost_at_cap);
    family("keepa_token_waits_total", "counter",
           "Recharge-waits the TOKEN actor answered.");
    sample("keepa_token_waits_total", "", static_cast<int64_t>(t.totals.waits));
  }
  auto dc = deals_of(r);
  family("keepa_deals_total", "counter", "Deals by pipeline stage.");
  sample("keepa_deals_total", label("stage", "scanned"), dc.scanned);
  sample("keepa_deals_total", label("stage", "pre-rejected"), dc.pre_rejected);
  sample("keepa_deals_total", label("stage", "peeked"), dc.peeked);
  sample("keepa_deals_total", label("stage", "committed"), dc.committed);
  sample("keepa_deals_total", label("stage", "rejected"), dc.rejected);
  sample("keepa_deals_total", label("stage", "updated"), dc.updated);
  family("keepa_http_429_total", "counter",
         "Answers with HTTP 429 (not enough tokens) from Keepa.");
  sample("keepa_http_429_total", "", r.num("client", "http-429"));
  family("keepa_requests_total", "counter", "Keepa requests sent.");
  sample("keepa_requests_total", "", r.num("client", "requests"));
  family("keepa_errors_total", "counter",
         "Failures by actor (transport and HTTP errors of the client, "
         "failed transactions of storage, failed batches of the stages).");
  for (auto name :
       {"client", "storage", "scanner", "peek-filter", "committer", "updater"})
    if (r.status_of(name) != nullptr)
      sample("keepa_errors_total", label("actor", name), errors_of(r, name));
  family("keepa_stage_in_flight", "gauge", "Batches in flight by stage.");
  for (auto name : {"peek-filter", "committer"})
    if (r.status_of(name) != nullptr)
      sample("keepa_stage_in_flight", label("actor", name),
             r.num(name, "in-flight"));
  family("keepa_stage_queued", "gauge", "Deals queued by stage.");
  for (auto name : {"peek-filter", "committer"})
    if (r.status_of(name) != nullptr)
      sample("keepa_stage_queued", label("actor", name), r.num(name, "queued"));
  if (r.counts_ok) {
    family("keepa_stored_deals", "gauge", "Deals in the database.");
    sample("keepa_stored_deals", "", static_cast<int64_t>(r.counts.deals));
    family("keepa_stored_rejections", "gauge", "Rejections in the database.");
    sample("keepa_stored_rejections", "",
           static_cast<int64_t>(r.counts.rejections));
    family("keepa_watermark_last_update", "gauge",
           "Durable scan watermark (Keepa lastUpdate of the feed position).");
    sample("keepa_watermark_last_update", "", r.counts.watermark.last_update);
  }
  return out;
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
    add(1, t.mode, 90);
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
  return fit_fields(fields, view.width);
}

} // namespace keepa
