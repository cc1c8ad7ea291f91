#include "tools/keepa-eta/eta.hpp"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <deque>
#include <filesystem>

#include <caf/config_value.hpp>
#include <caf/settings.hpp>

#include "actors/storage/run_tally.hpp"
#include "actors/token/token.hpp"
#include "config/pipeline_config.hpp"
#include "messages/error.hpp"
#include "messages/storage.hpp"
#include "storage/soci_backend.hpp"
#include "tools/virtual-run/virtual_run.hpp"

namespace keepa {

caf::expected<eta_options> eta_options_from(const caf::settings& xs) {
  eta_options o;
  auto& s = o.sim;
  s.refill_rate = caf::get_or(xs, "eta.refill-rate", int64_t{5});
  s.initial_tokens = caf::get_or(xs, "eta.balance", int64_t{-1});
  s.products = static_cast<int>(caf::get_or(xs, "eta.products", int64_t{5000}));
  s.update_rate = caf::get_or(xs, "eta.update-rate", 4.0);
  s.good_fraction = caf::get_or(xs, "eta.good-fraction", 0.03);
  s.peek_pass_fraction = caf::get_or(xs, "eta.peek-pass-fraction", 0.15);
  s.seed = caf::get_or(xs, "eta.seed", size_t{1});
  o.target = caf::get_or(xs, "eta.deals", size_t{10000});
  o.limit = caf::get_or(xs, "eta.max-time", o.limit);
  o.window = caf::get_or(xs, "eta.window", o.window);
  o.scan_interval = caf::get_or(xs, "eta.scan-interval", o.scan_interval);
  o.scan_interval_given = caf::get_if(&xs, "eta.scan-interval") != nullptr;
  o.from = caf::get_or(xs, "eta.from", std::string{});
  o.refill_given = caf::get_if(&xs, "eta.refill-rate") != nullptr;
  auto bad = [](const char* what) {
    return caf::make_error(ec::invalid_config, what);
  };
  if (s.products < 1 || s.products > 1000000)
    return bad("eta.products must be in [1, 1000000]");
  if (s.update_rate <= 0)
    return bad("eta.update-rate must be positive");
  if (s.good_fraction < 0 || s.good_fraction > s.peek_pass_fraction
      || s.peek_pass_fraction > 1)
    return bad("need 0 <= eta.good-fraction <= eta.peek-pass-fraction <= 1");
  if (o.scan_interval <= caf::timespan::zero())
    return bad("eta.scan-interval must be positive");
  if (o.window < caf::timespan::zero())
    return bad("eta.window must be >= 0 (0s = run to eta.max-time)");
  return o;
}

caf::expected<eta_result> run_eta(const eta_options& opts,
                                  const pipeline_config& cfg) {
  if (opts.target == 0)
    return caf::make_error(ec::invalid_config, "eta.deals must be positive");
  if (opts.sim.refill_rate <= 0)
    return caf::make_error(ec::invalid_config,
                           "eta.refill-rate must be positive");
  if (opts.step <= caf::timespan::zero() || opts.limit <= opts.step)
    return caf::make_error(ec::invalid_config,
                           "eta.max-time must exceed the step");
  auto config = run_config_from(cfg);
  if (!config)
    return std::move(config.error());
  auto wall0 = std::chrono::steady_clock::now();
  virtual_run run{opts.sim, "eta", opts.scan_interval};
  run.apply(*config, opts.scan_interval_given);
  // The deals are a scratch database, thrown away after the run, and
  // STORAGE's speed is no part of the estimate (virtual time): in memory,
  // commits cost no WAL writes and fsyncs.
  run.settings.storage.url = "sqlite::memory:";
  if (auto err = run.spawn())
    return err;
  eta_result r;
  r.refresh_after = config->update.refresh_after;
  r.catalogue_good = run.model->good_deal_asins().size();
  caf::timespan step = std::chrono::minutes{1};
  // (elapsed, deals) at each check within the last window.
  std::deque<std::pair<caf::timespan, uint64_t>> recent{{r.elapsed, 0}};
  for (r.elapsed = caf::timespan{0}; r.elapsed < opts.limit;) {
    step = std::min(step, opts.limit - r.elapsed);
    run.run_for(step);
    r.elapsed += step;
    r.deals = run.deal_count();
    if (r.deals >= opts.target) {
      r.reached = true;
      break;
    }
    recent.emplace_back(r.elapsed, r.deals);
    while (recent.size() > 1 && recent[1].first <= r.elapsed - opts.window)
      recent.pop_front();
    auto span = r.elapsed - recent.front().first;
    if (opts.window > caf::timespan::zero() && span >= opts.window) {
      auto days
        = std::chrono::duration<double, std::ratio<86400>>(span).count();
      auto per_day = double(r.deals - recent.front().second) / days;
      auto left = std::chrono::duration<double, std::ratio<86400>>(opts.limit
                                                                   - r.elapsed)
                    .count();
      if (double(r.deals) + per_day * left < double(opts.target)) {
        r.out_of_reach = true;
        r.recent_per_day = per_day;
        break;
      }
    }
    // Check more often near the target (down to once a minute, in whole
    // minutes), so the ETA is accurate without checking every minute of a
    // year; before the first deal, double the step.
    if (r.deals == 0) {
      step = std::min(2 * step, opts.step);
    } else {
      auto left = double(r.elapsed.count()) * double(opts.target - r.deals)
        / double(r.deals);
      auto next = std::min(left / 2, double(opts.step.count()));
      auto whole = std::chrono::floor<std::chrono::minutes>(
        caf::timespan{static_cast<int64_t>(next)});
      step = std::max<caf::timespan>(whole, std::chrono::minutes{1});
    }
  }
  auto ts = run.token_status();
  for (size_t i = 0; i < num_stages && i < ts.totals.consumed_by_stage.size();
       ++i)
    r.by_stage[i] = ts.totals.consumed_by_stage[i];
  r.consumed = ts.totals.consumed;
  r.lost_at_cap = ts.totals.lost_at_cap;
  r.generated = run.generated_until(run.now_ms());
  r.retired = static_cast<uint64_t>(
    caf::get_or(run.status_of(run.h.storage), "retired", int64_t{0}));
  r.min_balance = run.min_balance;
  r.wall = std::chrono::duration_cast<std::chrono::milliseconds>(
    std::chrono::steady_clock::now() - wall0);
  return r;
}

namespace {

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

std::string format(const char* fmt, ...) {
  char buf[512];
  va_list args;
  va_start(args, fmt);
  vsnprintf(buf, sizeof(buf), fmt, args);
  va_end(args);
  return buf;
}

std::string duration_text(caf::timespan d) {
  auto mins = static_cast<long long>(
    std::chrono::duration_cast<std::chrono::minutes>(d).count());
  return format("%lld d %02lld h %02lld min", mins / 1440, mins / 60 % 24,
                mins % 60);
}

} // namespace

caf::expected<fitted_eta> fit_eta(const eta_options& opts, db::backend& db) {
  auto sample = read_run_sample(db);
  if (!sample)
    return std::move(sample.error());
  auto stored = sample->stored;
  auto mix = fit(*sample);
  if (!mix)
    return caf::make_error(ec::invalid_config,
                           db::redact(opts.from) + ": " + render(mix.error()));
  fitted_eta result;
  result.mixture = std::move(*mix);
  result.stored = stored;
  result.plan.refill_rate = opts.refill_given ? opts.sim.refill_rate
                                              : sample->refill_rate;
  if (result.plan.refill_rate <= 0)
    return caf::make_error(ec::invalid_config,
                           db::redact(opts.from)
                             + " does not say the plan's refill rate; give "
                               "--eta.refill-rate");
  result.plan.balance = std::max<int64_t>(opts.sim.initial_tokens, 0);
  auto more = opts.target > stored ? opts.target - stored : 0;
  result.answer = estimate(result.mixture, result.plan, stored, more);
  return result;
}

caf::expected<fitted_eta> fit_eta(const eta_options& opts) {
  auto loc = db::parse_location(opts.from);
  if (!loc)
    return std::move(loc.error());
  if (loc->kind == db::backend_kind::sqlite
      && !std::filesystem::exists(loc->target))
    return caf::make_error(ec::invalid_config,
                           "eta.from: no such database: " + loc->target);
  // Read-only: fitting never creates, migrates or writes the database a
  // pipeline may be filling.
  db::open_options oo;
  oo.url = opts.from;
  oo.read_only = true;
  auto db = db::soci_backend::open(oo);
  if (!db)
    return std::move(db.error());
  return fit_eta(opts, **db);
}

std::string render(const eta_options& opts, const fitted_eta& r) {
  std::string out;
  out += "mixture: " + describe(r.mixture) + " of " + db::redact(opts.from)
    + "\n";
  out += format("plan: %lld tokens/min (%s), starting balance %lld%s\n",
                static_cast<long long>(r.plan.refill_rate),
                opts.refill_given ? "--eta.refill-rate"
                                  : "the database's last seen",
                static_cast<long long>(r.plan.balance),
                opts.sim.initial_tokens < 0 ? " (assumed; --eta.balance)" : "");
  out += format("stored deals: %llu now, %.2f deals/hour at this stock "
                "(%s-limited)\n",
                static_cast<unsigned long long>(r.stored),
                r.answer.deals_per_hour,
                r.answer.plan_limited ? "plan" : "feed");
  if (r.answer.reachable)
    out += format("ETA for %llu deals: %s (fitted model)\n",
                  static_cast<unsigned long long>(opts.target),
                  human_duration(r.answer.time).c_str());
  else
    out += format("out of reach: %llu deals%s\n",
                  static_cast<unsigned long long>(opts.target),
                  r.answer.ceiling > 0
                    ? format(": the plan keeps at most about %llu deals "
                             "refreshed",
                             static_cast<unsigned long long>(r.answer.ceiling))
                        .c_str()
                    : "");
  return out;
}

std::string render(const eta_options& opts, const eta_result& r) {
  auto& s = opts.sim;
  std::string out;
  out += format("mixture: the simulator's%s, not fitted (--eta.from="
                "STORAGE_URL fits it from a run)\n",
                s.good_fraction == 0.03 && s.peek_pass_fraction == 0.15
                  ? " defaults"
                  : ", as given");
  out += format("plan: %lld tokens/min, starting balance %s\n",
                static_cast<long long>(s.refill_rate),
                s.initial_tokens < 0
                  ? format("%lld (full)",
                           static_cast<long long>(60 * s.refill_rate))
                      .c_str()
                  : std::to_string(s.initial_tokens).c_str());
  out += format("catalogue: %d books, seed %llu, %.1f updates/min, %.1f %% "
                "pass a peek, %.1f %% good\n",
                s.products, static_cast<unsigned long long>(s.seed),
                s.update_rate, 100 * s.peek_pass_fraction,
                100 * s.good_fraction);
  if (r.reached)
    out += format("ETA for %llu deals: %s (virtual time)\n",
                  static_cast<unsigned long long>(opts.target),
                  duration_text(r.elapsed).c_str());
  else if (r.out_of_reach)
    out += format("out of reach: %llu of %llu deals after %s; at the last "
                  "%s's %.1f deals/day\n  the target is not reached within "
                  "%s, and the rate only falls as the stock grows\n",
                  static_cast<unsigned long long>(r.deals),
                  static_cast<unsigned long long>(opts.target),
                  duration_text(r.elapsed).c_str(),
                  duration_text(opts.window).c_str(), r.recent_per_day,
                  duration_text(opts.limit).c_str());
  else
    out += format("not reached: %llu of %llu deals after %s (the limit)\n",
                  static_cast<unsigned long long>(r.deals),
                  static_cast<unsigned long long>(opts.target),
                  duration_text(r.elapsed).c_str());
  if (!r.reached && opts.target > r.catalogue_good)
    out += format("  keepa-sim's catalogue holds only %llu good deals (by its "
                  "own rules, which the\n  default filters share); %llu "
                  "deals need more than %.0f books (--eta.products)\n",
                  static_cast<unsigned long long>(r.catalogue_good),
                  static_cast<unsigned long long>(opts.target),
                  std::ceil(double(opts.target) * double(s.products)
                            / double(std::max<uint64_t>(r.catalogue_good, 1))));
  if (!r.reached)
    out += format(
      "  stored deals are a stock: each costs a light refresh "
      "(about 1 token) every %s,\n  so %lld tokens/min keep at "
      "most about %.0f deals, fewer while also finding new ones\n",
      duration_text(r.refresh_after).c_str(),
      static_cast<long long>(s.refill_rate),
      double(s.refill_rate)
        * std::chrono::duration<double, std::ratio<60>>(r.refresh_after)
            .count());
  out += format("stored deals: %llu, %.2f deals/hour, %.1f tokens/deal\n",
                static_cast<unsigned long long>(r.deals), r.deals_per_hour(),
                r.deals > 0 ? double(r.consumed) / double(r.deals) : 0.0);
  if (r.retired > 0)
    out += format("  %llu more were stored and retired: no longer deals at a "
                  "later price\n",
                  static_cast<unsigned long long>(r.retired));
  auto share = [&](int64_t x) {
    return r.generated > 0 ? 100.0 * double(x) / double(r.generated) : 0.0;
  };
  out += format("tokens: %lld generated, %lld consumed (%.1f %%), min "
                "balance %lld\n",
                static_cast<long long>(r.generated),
                static_cast<long long>(r.consumed), share(r.consumed),
                static_cast<long long>(r.min_balance));
  for (auto x : {stage::scan, stage::peek, stage::commit, stage::update}) {
    auto n = r.by_stage[static_cast<size_t>(x)];
    out += format("  %-12s %10lld  %5.1f %%\n", to_string(x),
                  static_cast<long long>(n), share(n));
  }
  out += format("  %-12s %10lld  %5.1f %%\n", "lost at cap",
                static_cast<long long>(r.lost_at_cap), share(r.lost_at_cap));
  out += format("ran in %.1f s of wall time\n", double(r.wall.count()) / 1000);
  return out;
}

} // namespace keepa
