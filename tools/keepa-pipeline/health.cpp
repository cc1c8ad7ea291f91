#include "tools/keepa-pipeline/health.hpp"

#include <chrono>
#include <cstdio>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <caf/config_value.hpp>
#include <caf/settings.hpp>

#include "config/defaults.hpp"

namespace keepa {

namespace {

/// "3.2 s".
std::string secs(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f s", x);
  return buf;
}

std::string secs(caf::timespan x) {
  return secs(std::chrono::duration<double>(x).count());
}

std::string ms_ago(const pipeline_report& r, int64_t unix_ms) {
  return secs(static_cast<double>(r.unix_ms - unix_ms) / 1000) + " ago";
}

health_check balance_check(const pipeline_report& r, const health_options& o) {
  health_check c{"balance", false, {}};
  if (!r.token_ok)
    c.detail = "TOKEN did not answer";
  else if (r.token.mode == "unknown")
    c.detail = "no balance observation from Keepa yet";
  else if (r.token.observation_age > o.max_observation_age)
    c.detail = "the newest balance observation is "
      + secs(r.token.observation_age) + " old (keepa.token.max-observation-age "
      + secs(o.max_observation_age) + ")";
  else {
    c.ok = true;
    c.detail = "balance observed " + secs(r.token.observation_age) + " ago";
  }
  return c;
}

health_check storage_check(const pipeline_report& r) {
  health_check c{"storage", false, {}};
  auto* st = r.status_of("storage");
  if (st == nullptr) {
    c.detail = "STORAGE did not answer";
  } else if (!caf::get_or(*st, "writable", false)) {
    c.detail = "STORAGE cannot write: "
      + caf::get_or(*st, "stalled", std::string{"unknown cause"});
    if (auto e = caf::get_if<std::string>(st, "last-error"))
      c.detail += " (" + *e + ")";
  } else {
    c.ok = true;
    c.detail = "STORAGE writes";
  }
  return c;
}

health_check keepa_check(const pipeline_report& r, const health_options& o) {
  health_check c{"keepa", false, {}};
  auto a = keepa_answers_of(r);
  std::string failure;
  if (a.last_failure_unix_ms > 0)
    failure = "; last failure " + ms_ago(r, a.last_failure_unix_ms) + ": "
      + a.last_failure;
  auto max_ms
    = std::chrono::duration_cast<std::chrono::milliseconds>(o.ready_max_age)
        .count();
  if (a.auth_failures_in_row > 0)
    c.detail = "Keepa refused the API key on the last "
      + std::to_string(a.auth_failures_in_row) + " answer(s)" + failure;
  else if (a.last_success_unix_ms == 0)
    c.detail = "no successful Keepa answer yet" + failure;
  else if (r.unix_ms - a.last_success_unix_ms > max_ms)
    c.detail = "no successful Keepa answer for "
      + secs(static_cast<double>(r.unix_ms - a.last_success_unix_ms) / 1000)
      + " (keepa.http.ready-max-age " + secs(o.ready_max_age) + ")" + failure;
  else {
    c.ok = true;
    c.detail = "last successful Keepa answer "
      + ms_ago(r, a.last_success_unix_ms);
  }
  return c;
}

health_verdict verdict_of(std::vector<health_check> checks) {
  health_verdict v;
  v.ok = true;
  for (auto& c : checks)
    v.ok = v.ok && c.ok;
  v.checks = std::move(checks);
  return v;
}

} // namespace

health_options health_options_from(const caf::settings& content) {
  health_options o;
  o.ready_max_age = caf::get_or(content, "keepa.http.ready-max-age",
                                caf::timespan{defaults::http::ready_max_age});
  o.max_observation_age
    = caf::get_or(content, "keepa.token.max-observation-age",
                  caf::timespan{defaults::token::max_observation_age});
  return o;
}

int health_verdict::http_status() const {
  return ok ? 200 : 503;
}

std::string health_verdict::reason() const {
  for (auto& c : checks)
    if (!c.ok)
      return c.detail;
  return "ok";
}

std::string health_verdict::to_json(const char* status_word) const {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  auto str = [&](const std::string& x) {
    w.String(x.data(), static_cast<rapidjson::SizeType>(x.size()));
  };
  w.StartObject();
  w.Key("status");
  w.String(ok ? "ok" : status_word);
  w.Key("reason");
  str(reason());
  w.Key("checks");
  w.StartObject();
  for (auto& c : checks) {
    str(c.name);
    w.StartObject();
    w.Key("ok");
    w.Bool(c.ok);
    w.Key("detail");
    str(c.detail);
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  return std::string{buf.GetString()} + "\n";
}

health_verdict liveness(const pipeline_report& r) {
  health_check c{"token", r.token_ok,
                 r.token_ok ? "TOKEN answers" : "TOKEN did not answer"};
  return verdict_of({std::move(c)});
}

health_verdict readiness(const pipeline_report& r, const health_options& o) {
  return verdict_of({balance_check(r, o), storage_check(r), keepa_check(r, o)});
}

} // namespace keepa
