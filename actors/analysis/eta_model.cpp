#include "actors/analysis/eta_model.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include "messages/error.hpp"

namespace keepa {

namespace {

constexpr stage all_stages[] = {stage::commit, stage::peek, stage::scan,
                                stage::update};

std::string token_key(stage x) {
  return std::string{run_state_prefix} + "tokens." + to_string(x);
}

double hours_of(caf::timespan x) {
  return std::chrono::duration<double, std::ratio<3600>>(x).count();
}

std::string percent(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), x < 0.1 ? "%.1f %%" : "%.0f %%", 100 * x);
  return buf;
}

std::string number(double x, const char* fmt = "%.1f") {
  char buf[48];
  std::snprintf(buf, sizeof(buf), fmt, x);
  return buf;
}

} // namespace

caf::timespan run_sample::feed_span() const {
  if (feed_first <= 0 || feed_last < feed_first)
    return caf::timespan{0};
  return std::chrono::minutes{feed_last - feed_first + 1};
}

run_sample& run_sample::operator+=(const run_sample& x) {
  run_time += x.run_time;
  feed_items += x.feed_items;
  if (x.feed_first > 0 && (feed_first <= 0 || x.feed_first < feed_first))
    feed_first = x.feed_first;
  feed_last = std::max(feed_last, x.feed_last);
  peeks += x.peeks;
  passes += x.passes;
  commits += x.commits;
  for (size_t i = 0; i < tokens.size(); ++i)
    tokens[i] += x.tokens[i];
  if (x.refill_rate > 0)
    refill_rate = x.refill_rate;
  stored = x.stored;
  return *this;
}

state_values to_state(const run_sample& x) {
  std::string p = run_state_prefix;
  auto ms
    = std::chrono::duration_cast<std::chrono::milliseconds>(x.run_time).count();
  state_values result{
    {p + "ms", std::to_string(ms)},
    {p + "feed-items", std::to_string(x.feed_items)},
    {p + "feed-first", std::to_string(x.feed_first)},
    {p + "feed-last", std::to_string(x.feed_last)},
    {p + "peeks", std::to_string(x.peeks)},
    {p + "passes", std::to_string(x.passes)},
    {p + "commits", std::to_string(x.commits)},
    {p + "refill-rate", std::to_string(x.refill_rate)},
  };
  for (auto s : all_stages)
    result.emplace_back(token_key(s), std::to_string(x.tokens_of(s)));
  return result;
}

caf::expected<run_sample> sample_from_state(const state_values& xs) {
  run_sample result;
  std::string p = run_state_prefix;
  for (auto& [key, value] : xs) {
    int64_t n = 0;
    size_t used = 0;
    try {
      n = std::stoll(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != value.size() || n < 0)
      return caf::make_error(ec::invalid_config,
                             "system_state " + key
                               + ": expected a whole number >= 0, got \""
                               + value + "\"");
    auto u = static_cast<uint64_t>(n);
    if (key == p + "ms")
      result.run_time = std::chrono::milliseconds{n};
    else if (key == p + "feed-items")
      result.feed_items = u;
    else if (key == p + "feed-first" || key == p + "feed-last")
      (key == p + "feed-first" ? result.feed_first : result.feed_last)
        = static_cast<int32_t>(std::min<int64_t>(n, INT32_MAX));
    else if (key == p + "peeks")
      result.peeks = u;
    else if (key == p + "passes")
      result.passes = u;
    else if (key == p + "commits")
      result.commits = u;
    else if (key == p + "refill-rate")
      result.refill_rate = n;
    else
      for (auto s : all_stages)
        if (key == token_key(s))
          result.tokens[static_cast<size_t>(s)] = n;
  }
  return result;
}

caf::expected<eta_mixture> fit(const run_sample& x, const fit_minimums& min) {
  auto too_little = [&](std::string what) {
    return caf::make_error(ec::invalid_config,
                           "too little data to fit: " + what + " (have "
                             + std::to_string(x.peeks) + " peeks, "
                             + std::to_string(x.commits) + " deals over "
                             + human_duration(x.run_time) + ")");
  };
  if (x.run_time < min.run_time)
    return too_little("needs " + human_duration(min.run_time)
                      + " of running time");
  if (x.peeks < min.peeks)
    return too_little("needs " + std::to_string(min.peeks) + " peeks");
  if (x.commits < min.commits)
    return too_little("needs " + std::to_string(min.commits)
                      + " committed deals");
  if (x.feed_items == 0)
    return too_little("no new feed items counted");
  auto acquire = x.tokens_of(stage::scan) + x.tokens_of(stage::peek)
    + x.tokens_of(stage::commit);
  if (acquire <= 0)
    return too_little("no tokens counted");
  auto hours = hours_of(x.run_time);
  eta_mixture m;
  m.from = x;
  auto span = x.feed_span();
  m.feed_per_hour = double(x.feed_items)
    / (span > caf::timespan{0} ? hours_of(span) : hours);
  m.pass_rate = double(std::min(x.passes, x.peeks)) / double(x.peeks);
  m.good_rate = double(std::min(x.commits, x.peeks)) / double(x.peeks);
  m.good_per_feed = double(x.commits) / double(x.feed_items);
  m.tokens_per_deal = double(acquire) / double(x.commits);
  m.refresh_per_deal_hour = double(x.tokens_of(stage::update))
    / double(std::max<uint64_t>(x.stored, 1)) / hours;
  return m;
}

eta_answer estimate(const eta_mixture& m, const eta_plan& plan, uint64_t stored,
                    uint64_t more) {
  eta_answer result;
  // Per hour: tokens the plan refills, deals the feed brings.
  auto income = 60.0 * double(std::max<int64_t>(plan.refill_rate, 0));
  auto feed = m.feed_per_hour * m.good_per_feed;
  auto c = m.tokens_per_deal;
  auto u = m.refresh_per_deal_hour;
  auto n0 = double(stored);
  auto n1 = double(stored + more);
  // The token-limited rate at a stock of n deals.
  auto paid = [&](double n) { return (income - u * n) / c; };
  auto cap = u > 0 ? income / u : std::numeric_limits<double>::infinity();
  if (u > 0)
    result.ceiling = static_cast<uint64_t>(cap);
  result.deals_per_hour = std::max(0.0, std::min(feed, paid(n0)));
  result.plan_limited = paid(n0) < feed;
  if (more == 0) {
    result.reachable = true;
    return result;
  }
  if (n1 >= cap || income <= 0 || feed <= 0)
    return result;
  // Below the stock n* the feed limits, above it the plan.
  auto switch_at = u > 0
    ? (income - feed * c) / u
    : (paid(0) < feed ? -std::numeric_limits<double>::infinity()
                      : std::numeric_limits<double>::infinity());
  double hours = 0;
  auto feed_end = std::clamp(switch_at, n0, n1);
  hours += (feed_end - n0) / feed;
  auto from = std::max(n0, feed_end);
  if (n1 > from) {
    auto token_hours = u > 0
      ? c / u * std::log((income - u * from) / (income - u * n1))
      : (n1 - from) * c / income;
    // The balance pays for deals ahead of the refill (a debt delays them).
    token_hours -= double(plan.balance) / (income - u * from);
    hours += std::max(0.0, token_hours);
  }
  result.reachable = true;
  result.time = std::chrono::duration_cast<caf::timespan>(
    std::chrono::duration<double, std::ratio<3600>>(hours));
  return result;
}

std::string describe(const eta_mixture& m) {
  auto& x = m.from;
  return "fitted from " + std::to_string(x.peeks) + " peeks, "
    + std::to_string(x.commits) + " deals and " + std::to_string(x.feed_items)
    + " feed items"
    + (x.feed_span() > caf::timespan{0}
         ? " (" + human_duration(x.feed_span()) + " of feed)"
         : std::string{})
    + " over " + human_duration(x.run_time)
    + " of running: " + percent(m.pass_rate) + " pass a peek, "
    + percent(m.good_rate) + " good, " + number(m.tokens_per_deal)
    + " tokens/deal, " + number(m.feed_per_hour, "%.0f") + " feed items/h, "
    + number(m.refresh_per_deal_hour, "%.3f") + " refresh tokens/deal/h";
}

} // namespace keepa
