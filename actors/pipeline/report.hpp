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

#include "actors/pipeline/status_line.hpp"
#include "messages/storage.hpp"
#include "messages/token.hpp"

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

  /// The status of actor `name`, or nullptr.
  const caf::settings* status_of(const std::string& name) const;

  /// Integer `key` of actor `name`'s status (0 when absent).
  int64_t num(const std::string& name, const std::string& key) const;
};

/// One JSON object (keepa-status --json, HTTP /status).
std::string to_json(const pipeline_report& r);

/// Prometheus text exposition format, version 0.0.4 (HTTP /metrics).
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
