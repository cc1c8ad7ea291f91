// Health of keepa-pipeline as a monitor sees it, over its HTTP server
// (behind the same per-run token as every other endpoint):
//  - /healthz (alive): 200 while TOKEN answers its snapshot (the actor
//    system runs and delivers messages), else 503;
//  - /readyz (ready): 200 when TOKEN holds a balance observation no older
//    than keepa.token.max-observation-age, STORAGE can write, and Keepa
//    answered successfully within keepa.http.ready-max-age without refusing
//    the key since; else 503.
// Each answers one JSON object: {"status": "ok" | "not ready" | "down",
// "reason": one sentence, "checks": {name: {"ok": bool, "detail": ...}}}.
//
// The verdicts are plain functions of a pipeline_report (tests use them
// without a server); /metrics adds the process's own metrics
// (process_metrics.hpp) and keepa_build_info.

#pragma once

#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include "actors/pipeline/report.hpp"
#include "config/defaults.hpp"

namespace keepa {

struct health_options {
  /// /readyz: the newest successful Keepa answer may be this old.
  caf::timespan ready_max_age = defaults::http::ready_max_age;
  /// /readyz: TOKEN's newest balance observation may be this old (TOKEN
  /// asks /token once it is older).
  caf::timespan max_observation_age = defaults::token::max_observation_age;
};

/// keepa.http.ready-max-age and keepa.token.max-observation-age of `content`.
health_options health_options_from(const caf::settings& content);

/// One check of a verdict.
struct health_check {
  std::string name;
  bool ok = false;
  std::string detail;
};

/// What /healthz or /readyz answers.
struct health_verdict {
  bool ok = false;
  std::vector<health_check> checks;

  /// 200 or 503.
  int http_status() const;

  /// The first failing check's detail, or "ok".
  std::string reason() const;

  /// {"status": ..., "reason": ..., "checks": {...}} with `status_word` for
  /// a failure ("down" or "not ready").
  std::string to_json(const char* status_word) const;
};

/// /healthz.
health_verdict liveness(const pipeline_report& r);

/// /readyz.
health_verdict readiness(const pipeline_report& r, const health_options& o);

} // namespace keepa
