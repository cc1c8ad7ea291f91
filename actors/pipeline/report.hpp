// One report of a running pipeline: TOKEN's snapshot, STORAGE's counts and
// every actor's `status`, as keepa-status, HTTP /status and /metrics and
// keepa-pipeline's status line show it. `to_json`, `to_metrics` and
// `to_text` render it; /status and `keepa-status --json` are the same
// `to_json`.

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/settings.hpp>

#include "actors/analysis/eta_model.hpp"
#include "actors/pipeline/status_line.hpp"
#include "messages/storage.hpp"
#include "messages/token.hpp"

namespace prometheus {
class Registry;
} // namespace prometheus

namespace keepa {

/// One actor's `status` answer, or why there is none.
struct actor_report {
  std::string name;
  bool ok = false;
  std::string error;
  caf::settings status;
};

/// Everything keepa-status prints, asked from the actors at `unix_ms`;
/// keepa-pipeline's status line and virtual-run's summary read the same.
struct pipeline_report {
  int64_t unix_ms = 0;
  bool token_ok = false;
  token_status token;
  bool counts_ok = false;
  storage_counts counts;
  std::vector<actor_report> actors;
  /// keepa.max-deals of the run (0 = none): /status and the status line
  /// show the ETA to it (eta_to_max_deals).
  uint64_t max_deals = 0;

  /// The status of actor `name`, or nullptr.
  const caf::settings* status_of(const std::string& name) const;

  /// Integer `key` of actor `name`'s status (0 when absent).
  int64_t num(const std::string& name, const std::string& key) const;
};

/// Keepa's answers as both KEEPA CLIENTs (the stages' and TOKEN's probe
/// client) saw them.
struct keepa_answers {
  /// 401, 402 and 403 answers, and the most of them in a row in one client
  /// since its last successful answer.
  int64_t auth_failures = 0;
  int64_t auth_failures_in_row = 0;
  /// Unix ms of the newest successful answer and the newest failure (0 =
  /// none yet), and what failed ("/token: HTTP 402 ...").
  int64_t last_success_unix_ms = 0;
  int64_t last_failure_unix_ms = 0;
  std::string last_failure;
};

keepa_answers keepa_answers_of(const pipeline_report& r);
/// Deals by stage, as the status line counts them.
struct deal_counts {
  int64_t scanned, pre_rejected, peeked, committed, rejected, updated;
};

/// @relates pipeline_report
deal_counts deals_of(const pipeline_report& r);
/// The run counters STORAGE reports in its status (`run`), with the stored
/// deals; ec::invalid_config when the report holds none.
caf::expected<run_sample> run_sample_of(const pipeline_report& r);

/// The ETA to `r.max_deals` committed deals (the committer's count of this
/// run), by the model keepa-eta uses (eta_model.hpp), fitted from STORAGE's
/// run counters on TOKEN's plan and balance; an error says why there is
/// none (no max-deals, too little data).
caf::expected<eta_answer> eta_to_max_deals(const pipeline_report& r);

/// One JSON object (keepa-status --json, HTTP /status).
std::string to_json(const pipeline_report& r);

/// Registers the report's metric families in `reg` (prometheus-cpp; README
/// lists them).
void add_metrics(prometheus::Registry& reg, const pipeline_report& r);

/// Prometheus text exposition format, version 0.0.4, of add_metrics
/// (keepa-pipeline's HTTP /metrics adds the process's own metrics).
std::string to_metrics(const pipeline_report& r);

/// keepa-pipeline's one-line status: balance, mode and what TOKEN waits
/// for, the deals committed and per hour, the deals by stage, tokens per
/// committed deal, the time since the start; fitted to `view.width`
/// (80 columns by default) by dropping fields in the order status_line.hpp
/// documents.
std::string status_line(const pipeline_report& r, const status_view& view = {});

/// Human-readable, one block per actor (keepa-status).
std::string to_text(const pipeline_report& r);

} // namespace keepa
