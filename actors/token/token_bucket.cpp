#include "actors/token/token_bucket.hpp"

#include <algorithm>
#include <cmath>

namespace keepa {

namespace {

/// Balances beyond this either way are garbage (60 x the highest rate).
constexpr int64_t max_balance = cap_minutes * max_refill_rate;

} // namespace

int64_t net_refill_rate(int64_t rate, double flow_reduction) {
  if (!std::isfinite(flow_reduction) || flow_reduction < 0)
    flow_reduction = 0;
  auto net = std::floor(static_cast<double>(rate) - flow_reduction);
  return net <= 0 ? 0 : static_cast<int64_t>(net);
}

bool token_bucket::observe(int64_t balance, int64_t refill_in_ms, int64_t rate,
                           int64_t server_ms, time_point now,
                           double flow_reduction) {
  if (observed_ && server_ms < server_ms_)
    return false;
  // Answers of one millisecond settle in any order (several connections,
  // several processes on one budget server). Within a millisecond the
  // balance only falls, unless a refill step lies between them: the lower
  // balance is the newer one, or the safe one.
  if (observed_ && server_ms == server_ms_ && balance > balance_)
    return false;
  if (rate < 0 || rate > max_refill_rate || balance > max_balance
      || balance < -max_balance || !std::isfinite(flow_reduction)
      || flow_reduction < 0)
    return false;
  observed_ = true;
  balance_ = balance;
  gross_rate_ = rate;
  flow_reduction_ = flow_reduction;
  rate_ = net_refill_rate(rate, flow_reduction);
  server_ms_ = server_ms;
  at_ = now;
  // A refillIn of 0 (or garbage) means "now"; beyond a period is impossible.
  auto in = std::clamp<int64_t>(refill_in_ms, 0, 60000);
  first_step_ = now + std::chrono::milliseconds(in);
  return true;
}

void token_bucket::refused(int64_t balance, int64_t refill_in_ms, int64_t rate,
                           int64_t server_ms, time_point now,
                           double flow_reduction) {
  auto plausible = server_ms > 0 && rate >= 0 && rate <= max_refill_rate
    && balance <= max_balance && balance >= -max_balance
    && std::isfinite(flow_reduction) && flow_reduction >= 0;
  if (plausible) {
    balance = std::min<int64_t>(balance, 0);
  } else {
    balance = std::min<int64_t>(projected(now), 0);
    rate = gross_rate_;
    flow_reduction = flow_reduction_;
    refill_in_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     next_refill_after(now) - now)
                     .count();
    server_ms = server_ms_;
  }
  auto newest = std::max(server_ms, server_ms_);
  observed_ = false;
  observe(balance, refill_in_ms, rate, newest, now, flow_reduction);
}

int64_t token_bucket::steps_until(time_point t) const {
  if (!observed_ || t < first_step_)
    return 0;
  return 1 + (t - first_step_) / refill_period;
}

int64_t token_bucket::projected(time_point t) const {
  auto steps = steps_until(t);
  if (steps == 0)
    return balance_;
  // Each step adds R and clamps to the cap; clamping once is the same.
  // Overflow-safe: rate and balance are bounded (observe), and once the
  // steps would fill the bucket from below -cap the answer is the cap.
  if (rate_ == 0)
    return balance_;
  if (steps > (cap() - balance_) / rate_ + 1)
    return cap();
  return std::min(cap(), balance_ + steps * rate_);
}

time_point token_bucket::next_refill_after(time_point t) const {
  return first_step_ + steps_until(t) * refill_period;
}

time_point token_bucket::earliest(int64_t target, int64_t spent,
                                  time_point from) const {
  if (!observed_)
    return time_point::max();
  if (projected(from) - spent >= target)
    return from;
  if (rate_ <= 0 || target + spent > cap())
    return time_point::max();
  // Need balance_ + k * R >= target + spent, with k >= 1 steps.
  auto missing = target + spent - balance_;
  auto k = std::max<int64_t>(1, (missing + rate_ - 1) / rate_);
  return std::max(from, first_step_ + (k - 1) * refill_period);
}

int64_t token_bucket::lost_at_cap(time_point t0, time_point t1) const {
  if (!observed_ || t1 <= t0)
    return 0;
  auto steps = steps_until(t1) - steps_until(t0);
  auto unclamped = projected(t0) + steps * rate_;
  return std::max<int64_t>(0, unclamped - projected(t1));
}

} // namespace keepa
