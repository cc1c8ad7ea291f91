#include "tools/virtual-run/virtual_run.hpp"

#include "actors/pipeline/introspection.hpp"
#include "messages/introspection.hpp"
#include "tools/virtual-run/sim_transport.hpp"

#include <chrono>
#include <limits>
#include <map>
#include <stdexcept>

#include <unistd.h>

#include <caf/config_value.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/analysis/deal_analysis.hpp"
#include "actors/stages/updater.hpp"
#include "actors/token/token.hpp"
#include "config/defaults.hpp"
#include "config/locale_option.hpp"
#include "messages/error.hpp"

namespace keepa {

virtual_time_config::virtual_time_config() {
  set("scheduler.policy", caf::atom("testing"));
  set("logger.file-verbosity", caf::atom("quiet"));
  set("middleman.network-backend", caf::atom("testing"));
}

std::string recall_figures::missed_list() const {
  std::string result;
  for (auto& x : missed)
    result += (result.empty() ? "" : ", ") + x;
  return result;
}

namespace {

/// Sends `xs` to `a`, runs the scheduler and stores the answer in `out`.
/// Virtual time stands still unless `patience` lets it run on (until the
/// answer comes, at most that long), as a real stop waits for requests in
/// flight.
template<class T, class Handle, class... Ts>
bool ask_within(virtual_run& r, caf::timespan patience, const Handle& a, T& out,
                Ts&&... xs) {
  caf::scoped_actor self{r.sys};
  self->send(a, std::forward<Ts>(xs)...);
  auto deadline = r.now() + patience;
  for (;;) {
    r.sched.run();
    bool answered = false;
    self->receive(
      [&](T& x) {
        out = std::move(x);
        answered = true;
      },
      caf::after(std::chrono::seconds{0}) >> [] {});
    if (answered)
      return true;
    if (!r.sched.has_pending_timeout()
        || r.sched.clock().schedule().begin()->first > deadline)
      return false;
    r.sched.trigger_timeout();
  }
}

template<class T, class Handle, class... Ts>
bool ask(virtual_run& r, const Handle& a, T& out, Ts&&... xs) {
  return ask_within(r, caf::timespan{0}, a, out, std::forward<Ts>(xs)...);
}

} // namespace

virtual_run::virtual_run(sim::options opts, const std::string& name,
                         caf::timespan scan_interval)
  : sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {
  // Start an hour in, so no timestamp is 0.
  sched.advance_time(std::chrono::hours(1));
  opts.start_unix_ms = t0;
  model = std::make_shared<sim::model>(opts);
  // The database is thrown away after the run; on tmpfs its fsyncs cost
  // nothing, so wall time measures the pipeline rather than the disk.
  std::error_code ec;
  auto base = std::filesystem::is_directory("/dev/shm", ec)
    ? std::filesystem::path{"/dev/shm"}
    : std::filesystem::temp_directory_path();
  dir = base / ("keepa-virtual-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  load_profiles(cfg);
  settings.token = token_config_from(cfg);
  settings.client.endpoint = "in-process keepa-sim";
  settings.client.key = opts.key;
  settings.client.seed = 1;
  settings.storage.url = "sqlite:" + (dir / "deals.db").string();
  settings.detached_storage = false;
  auto scan = scanner_config_from(caf::settings{});
  if (!scan)
    throw std::runtime_error(render(scan.error()));
  settings.scan = *scan;
  settings.scan.interval = scan_interval;
  start = now();
  initial_balance = model->balance(t0);
}

virtual_run::~virtual_run() {
  exit_all();
  sched.run();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

int64_t virtual_run::now_ms() {
  return t0
    + std::chrono::duration_cast<std::chrono::milliseconds>(now() - start)
        .count();
}

caf::error virtual_run::spawn() {
  auto s = settings;
  s.client.make_transport = sim_transport_factory(model, now_ms());
  s.unix0_ms = now_ms();
  auto spawned = spawn_pipeline(sys, s);
  if (!spawned)
    return std::move(spawned.error());
  h = *spawned;
  return caf::none;
}

std::vector<std::string> virtual_run::shut_down() {
  std::vector<std::string> silent;
  // Longer than the client's timeout: a stage waits for its request in
  // flight.
  auto patience = std::chrono::minutes{5};
  for (auto& [name, hdl] : stop_order(h)) {
    caf::ok_atom ok;
    if (!ask_within(*this, patience, hdl, ok, atom::stop_v))
      silent.emplace_back(name);
  }
  caf::ok_atom ok;
  if (!ask(*this, h.storage, ok, atom::flush_v))
    silent.emplace_back("storage");
  return silent;
}

void virtual_run::exit_all() {
  for (auto& kvp : status_actors(h))
    caf::anon_send_exit(kvp.second, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(h.probe_client, caf::exit_reason::user_shutdown);
  sched.run();
}

void virtual_run::run_for(caf::timespan d) {
  auto end = now() + d;
  sched.run();
  while (sched.has_pending_timeout()
         && sched.clock().schedule().begin()->first <= end) {
    sched.trigger_timeout();
    sched.run();
    min_balance = std::min(min_balance, model->balance(now_ms()));
  }
  if (now() < end)
    sched.advance_time(end - now());
  sched.run();
}

int64_t virtual_run::generated_until(int64_t ms) const {
  return initial_balance + model->opts().refill_rate * ((ms - t0) / 60000 + 1);
}

void virtual_run::stop_scanner(caf::timespan limit) {
  auto between_passes = [this] {
    auto phase
      = caf::get_or(status(caf::actor_cast<status_client_actor>(h.scanner)),
                    "phase", std::string{});
    return phase == "idle" || phase == "asking-backlog";
  };
  auto step = std::chrono::seconds{10};
  for (caf::timespan waited{0}; waited < limit && !between_passes();
       waited += step)
    run_for(step);
  caf::scoped_actor self{sys};
  self->send(h.scanner, atom::stop_v);
  sched.run();
}

recall_figures virtual_run::recall() {
  recall_figures r;
  std::vector<sim::model::served_deal> good;
  std::vector<std::string> asins;
  for (auto& s : model->served_deals())
    if (s.good) {
      good.push_back(s);
      asins.push_back(s.asin);
    }
  std::vector<asin_memory> mem;
  ask(*this, h.storage, mem, atom::known_v, asins);
  std::map<std::string, asin_memory> known;
  for (auto& m : mem)
    known.emplace(m.asin, m);
  for (auto& s : good) {
    auto i = known.find(s.asin);
    if (i != known.end() && i->second.stored) {
      ++r.committed;
    } else if (!s.unchanged) {
      ++r.excluded_changed;
      continue;
    } else {
      r.missed.push_back(s.asin + (i != known.end() ? " (rejected)" : ""));
    }
    ++r.good_seen;
  }
  return r;
}

pipeline_report virtual_run::report() {
  pipeline_report r;
  r.unix_ms = now_ms();
  r.token_ok = ask(*this, h.token, r.token, atom::snapshot_v);
  r.counts_ok = ask(*this, h.storage, r.counts, atom::counts_v);
  for (auto& kvp : named_actors(directory_of(h))) {
    actor_report a;
    a.name = kvp.first;
    a.ok = ask(*this, kvp.second, a.status, atom::status_v);
    if (!a.ok)
      a.error = "no answer";
    r.actors.push_back(std::move(a));
  }
  actor_report st;
  st.name = "storage";
  st.ok = ask(*this, h.storage, st.status, atom::status_v);
  if (!st.ok)
    st.error = "no answer";
  r.actors.push_back(std::move(st));
  return r;
}

std::string virtual_run::summary() {
  auto r = report();
  auto n = [&](const char* name, const char* key) {
    return std::to_string(r.num(name, key));
  };
  auto& ts = r.token;
  return "scanned " + n("scanner", "candidates") + ", pre-rejected "
    + n("scanner", "pre-rejected") + ", remembered "
    + n("scanner", "remembered") + ", peeked " + n("peek-filter", "peeked")
    + ", survived " + n("peek-filter", "survived") + ", committed "
    + n("committer", "committed") + " (stored deals "
    + std::to_string(r.counts.deals) + "), refreshed "
    + n("updater", "refreshed") + "; consumed "
    + std::to_string(ts.totals.consumed) + ", lost at cap "
    + std::to_string(ts.totals.lost_at_cap) + ", min balance "
    + std::to_string(min_balance) + " (floor " + std::to_string(ts.floor)
    + "), grants " + std::to_string(ts.totals.grants) + ", waits "
    + std::to_string(ts.totals.waits);
}

caf::settings virtual_run::status(const status_client_actor& a) {
  caf::settings result;
  ask(*this, a, result, atom::status_v);
  return result;
}

keepa::token_status virtual_run::token_status() {
  keepa::token_status result;
  ask(*this, h.token, result, atom::snapshot_v);
  return result;
}

caf::expected<run_config> run_config_from(const pipeline_config& cfg) {
  auto analysis = analysis_config_from(cfg.content);
  if (!analysis)
    return std::move(analysis.error());
  auto update = updater_config_from(cfg.content);
  if (!update)
    return std::move(update.error());
  auto peek = peek_filter_config_from(cfg.content);
  if (!peek)
    return std::move(peek.error());
  // The queries and the locale stay the simulator's.
  auto opts = cfg.content;
  caf::put(opts, "keepa.scan.query-file", defaults::scan::query_file());
  caf::put(opts, "keepa.scan.finder-query-file",
           defaults::scan::finder_query_file());
  caf::put(opts, locale_key, std::string{});
  auto scan = scanner_config_from(opts);
  if (!scan)
    return std::move(scan.error());
  return run_config{token_config_from(cfg),
                    *analysis,
                    *update,
                    *peek,
                    std::move(*scan),
                    caf::get_if(&cfg.content, "keepa.scan.interval")
                      != nullptr};
}

void virtual_run::apply(const run_config& x, bool own_interval) {
  settings.token = x.token;
  settings.analysis = x.analysis;
  settings.update = x.update;
  auto interval = settings.scan.interval;
  settings.scan = x.scan;
  if (own_interval || !x.scan_interval_given)
    settings.scan.interval = interval;
  settings.peek = x.peek;
  bound_held_candidates(settings);
}

storage_counts virtual_run::counts() {
  storage_counts result;
  ask(*this, h.storage, result, atom::counts_v);
  return result;
}

uint64_t virtual_run::deal_count() {
  uint64_t result = 0;
  ask(*this, h.storage, result, atom::counts_v, atom::deal_v);
  return result;
}

std::vector<deal_record> virtual_run::stored_deals() {
  // STORAGE sizes its answer by the limit asked for.
  auto n = static_cast<uint32_t>(deal_count() + 1);
  std::vector<deal_record> result;
  ask(*this, h.storage, result, atom::stalest_v, n,
      std::numeric_limits<int64_t>::max());
  return result;
}

int64_t get_int(const caf::settings& xs, const char* key) {
  return caf::get_or(xs, key, int64_t{0});
}

} // namespace keepa
