#include "actors/stages/value_gate.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace keepa {

value_gate::value_gate(value_gate_config cfg) : cfg_(cfg) {
  // nop
}

value_gate::bin_id value_gate::bin_of(int64_t estimate, bool rank_fell) {
  size_t band = 0;
  if (estimate == unknown)
    band = 0;
  else if (estimate < 0)
    band = 1;
  else
    band = 2
      + static_cast<size_t>(
             std::upper_bound(edges.begin(), edges.end() - 1, estimate)
             - edges.begin());
  return bin_id{rank_fell ? num_bands + band : band};
}

std::string value_gate::bin_name(size_t i) {
  std::string prefix = i >= num_bands ? "rank-fell/" : "";
  auto band = i % num_bands;
  if (band == 0)
    return prefix + "unknown";
  if (band == 1)
    return prefix + "below-0";
  auto lo = band == 2 ? int64_t{0} : edges[band - 3];
  auto hi = edges[band - 2];
  return prefix + std::to_string(lo) + "-"
    + (hi == std::numeric_limits<int64_t>::max() ? std::string{"up"}
                                                 : std::to_string(hi));
}

double value_gate::decay(time_point now) const {
  auto dt = std::chrono::duration<double>(now - decayed_at_).count();
  auto h = std::chrono::duration<double>(cfg_.half_life).count();
  if (dt <= 0 || h <= 0)
    return 1;
  return std::exp2(-dt / h);
}

double value_gate::arrivals(size_t i, time_point now) const {
  return skips(i) ? 0.0 : bins_[i].arrivals * decay(now);
}

namespace {

/// The upper end of the 95 % Wilson score interval of a pass rate of
/// `passed` in `peeked`.
double upper_pass_rate(uint64_t passed, uint64_t peeked) {
  constexpr double z = 1.96;
  auto n = static_cast<double>(peeked);
  auto p = static_cast<double>(passed) / n;
  auto z2 = z * z;
  return (p + z2 / (2 * n) + z * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n)))
    / (1 + z2 / n);
}

} // namespace

bool value_gate::hopeless(size_t i) const {
  auto& b = bins_[i];
  if (!cfg_.enabled || b.peeked == 0 || b.peeked < cfg_.hopeless_after)
    return false;
  return upper_pass_rate(b.passed, b.peeked)
    < cfg_.hopeless_share * pass_rate();
}

size_t value_gate::skipped_bins() const {
  size_t n = 0;
  for (size_t i = 0; i < num_bins; ++i)
    n += skips(i) ? 1 : 0;
  return n;
}

bool value_gate::admit(bin_id b) {
  if (!skips(b.index))
    return true;
  auto n = ++bins_[b.index].hopeless_arrivals;
  return cfg_.explore_every > 0 && n % cfg_.explore_every == 0;
}

void value_gate::decay_to(time_point now) {
  if (now <= decayed_at_)
    return;
  auto f = decay(now);
  for (auto& b : bins_)
    b.arrivals *= f;
  income_ *= f;
  others_ *= f;
  scan_ *= f;
  decayed_at_ = now;
}

void value_gate::arrived(bin_id b, time_point now) {
  decay_to(now);
  bins_[b.index].arrivals += 1;
}

void value_gate::spent(int64_t rate, int64_t others, int64_t peek_tokens,
                       uint64_t peeked, time_point now) {
  if (peeked > 0 && peek_tokens > 0)
    peek_cost_ = std::max(
      1.0, static_cast<double>(peek_tokens) / static_cast<double>(peeked));
  if (!spent_at_ || now < *spent_at_ || others < others_total_) {
    spent_at_ = now;
    others_total_ = others;
    return;
  }
  decay_to(now);
  // Both came in evenly since the last call: each minute of it weighs as
  // it has decayed since, like the arrivals.
  auto minutes
    = std::chrono::duration<double, std::ratio<60>>(now - *spent_at_).count();
  auto h
    = std::chrono::duration<double, std::ratio<60>>(cfg_.half_life).count();
  auto weight = h > 0 && minutes > 0
    ? h / std::log(2.0) * (1 - std::exp2(-minutes / h)) / minutes
    : 1.0;
  income_ += weight * minutes * static_cast<double>(std::max<int64_t>(rate, 0));
  others_ += weight * static_cast<double>(others - others_total_);
  others_total_ = others;
  spent_at_ = now;
}

double value_gate::income_share(time_point now) const {
  double total = 0;
  for (size_t i = 0; i < num_bins; ++i)
    total += arrivals(i, now);
  auto left = (income_ - others_) * decay(now);
  if (total <= 0 || left <= 0)
    return 0;
  return std::min(1.0, left / (peek_cost_ * total));
}

void value_gate::paid(int64_t scan_tokens, int64_t commit_tokens,
                      uint64_t survived, time_point now) {
  if (survived > 0 && commit_tokens > 0)
    commit_cost_ = static_cast<double>(commit_tokens)
      / static_cast<double>(survived);
  if (!scan_total_ || scan_tokens < *scan_total_) {
    scan_total_ = scan_tokens;
    return;
  }
  decay_to(now);
  scan_ += static_cast<double>(scan_tokens - *scan_total_);
  scan_total_ = scan_tokens;
}

double value_gate::bin_yield(size_t i) const {
  auto p = bin_value(i);
  return p / (peek_cost_ + commit_cost_ * p);
}

double value_gate::scan_yield(time_point now) const {
  auto tokens = scan_ * decay(now);
  if (tokens <= 0)
    return 0;
  std::array<size_t, num_bins> order;
  std::iota(order.begin(), order.end(), size_t{0});
  std::array<double, num_bins> yields;
  for (size_t i = 0; i < num_bins; ++i)
    yields[i] = bin_yield(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t x, size_t y) { return yields[x] > yields[y]; });
  // Best bins first while a bin adds more than the pages yield so far.
  double found = 0;
  double cost = tokens;
  double best = 0;
  for (auto i : order) {
    auto n = arrivals(i, now);
    if (n <= 0)
      continue;
    auto p = bin_value(i);
    found += n * p;
    cost += n * (peek_cost_ + commit_cost_ * p);
    best = std::max(best, found / cost);
  }
  return best;
}

void value_gate::outcome(bin_id i, bool passed) {
  auto& b = bins_[i.index];
  ++b.peeked;
  ++peeked_;
  if (passed) {
    ++b.passed;
    ++passed_;
  }
}

double value_gate::pass_rate() const {
  return (static_cast<double>(passed_) + 1)
    / (static_cast<double>(peeked_) + 2);
}

double value_gate::bin_value(size_t i) const {
  auto& b = bins_[i];
  auto w = cfg_.prior_weight;
  return (static_cast<double>(b.passed) + w * pass_rate())
    / (static_cast<double>(b.peeked) + w);
}

double value_gate::bar(int64_t balance, int64_t rate, time_point now) const {
  if (!cfg_.enabled)
    return 0;
  auto minutes
    = std::chrono::duration<double, std::ratio<60>>(cfg_.horizon).count();
  // The share of arrivals worth a token: 0 at a balance of 0, all of them
  // from `horizon` minutes of refill. Nothing refills at rate 0: what is
  // there is all there will be, so only the best.
  auto full = std::min(minutes * double(rate),
                       static_cast<double>(cfg_.horizon_tokens));
  auto share = rate > 0 && full > 0 ? static_cast<double>(balance) / full : 0.0;
  std::array<double, num_bins> values;
  std::array<double, num_bins> mix;
  double total = 0;
  for (size_t i = 0; i < num_bins; ++i) {
    values[i] = bin_value(i);
    mix[i] = arrivals(i, now);
    total += mix[i];
  }
  // What the plan can peek of the arrivals whatever the balance, but only
  // of the bins that yield more per token than scanning for better ones.
  auto income = income_share(now);
  if (auto page = scan_yield(now); page > 0 && total > 0 && share < 1) {
    double better = 0;
    for (size_t i = 0; i < num_bins; ++i)
      if (bin_yield(i) >= page)
        better += mix[i];
    income = std::min(income, better / total);
    share = std::min(share, better / total);
  }
  share = std::max(share, income);
  if (share >= 1)
    return 0;
  std::array<size_t, num_bins> order;
  std::iota(order.begin(), order.end(), size_t{0});
  // Bins by learned value, best first.
  if (total <= 0)
    return 0;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t x, size_t y) { return values[x] > values[y]; });
  // Take bins best first until they make up the share; the last one taken
  // sets the bar (at least the best bin that has arrivals).
  double taken = 0;
  double result = 0;
  for (auto i : order) {
    if (mix[i] <= 0)
      continue;
    result = values[i];
    taken += mix[i] / total;
    if (taken >= share)
      break;
  }
  return result;
}

} // namespace keepa
