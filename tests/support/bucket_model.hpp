// A small model of Keepa's bucket that stands in for Keepa in the token
// tests (the full simulator lives in tools/keepa-sim): R tokens per minute
// in whole steps, cap 60 x R, a request runs while the balance is positive
// and may drive it negative, 429 at a balance <= 0. Trackings lower the
// refill by `tokenFlowReduction` (set_flow_reduction): each step adds
// R - reduction, fractions carried to the next step, and the envelope
// reports the gross R beside the reduction (Q9 of keepa-api.md taken the
// hard way).

#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

#include <caf/actor_clock.hpp>

#include "messages/token.hpp"

namespace keepa::test {

class keepa_model {
public:
  using time_point = caf::actor_clock::time_point;

  keepa_model(int64_t rate, int64_t initial, time_point start,
              std::chrono::milliseconds phase = std::chrono::seconds(17))
    : rate_(rate),
      balance_(initial),
      next_step_(start + phase),
      start_(start),
      generated_(initial),
      min_balance_(initial) {
    // nop
  }

  /// Applies refill steps up to `now`.
  void advance(time_point now) {
    while (next_step_ <= now) {
      carry_ += std::max(0.0, static_cast<double>(rate_) - flow_reduction_);
      auto add = static_cast<int64_t>(carry_);
      carry_ -= static_cast<double>(add);
      balance_ = std::min(cap(), balance_ + add);
      generated_ += add;
      next_step_ += std::chrono::minutes(1);
    }
  }

  /// Executes a request of `cost` at `now`; returns Keepa's envelope as a
  /// settlement (tokens_consumed 0 and `rejected` on 429).
  settlement request(uint64_t grant_id, int64_t cost, time_point now,
                     bool& rejected) {
    advance(now);
    rejected = balance_ <= 0;
    settlement s;
    s.grant_id = grant_id;
    if (!rejected) {
      balance_ -= cost;
      spent_ += cost;
      s.tokens_consumed = cost;
      min_balance_ = std::min(min_balance_, balance_);
    } else {
      ++rejections_;
    }
    fill(s, now);
    return s;
  }

  /// The free /token answer.
  settlement observe(time_point now) {
    advance(now);
    settlement s;
    fill(s, now);
    return s;
  }

  void set_rate(int64_t rate) {
    rate_ = rate;
  }

  /// Trackings take `x` tokens a minute off the refill from the next step
  /// on; the envelope's refillRate stays the gross rate.
  void set_flow_reduction(double x) {
    flow_reduction_ = x;
  }

  int64_t cap() const {
    return 60 * rate_;
  }
  int64_t balance() const {
    return balance_;
  }
  int64_t spent() const {
    return spent_;
  }
  /// Initial balance plus every refill step so far (including any the cap
  /// swallowed).
  int64_t generated() const {
    return generated_;
  }
  int64_t min_balance() const {
    return min_balance_;
  }
  int64_t rejections() const {
    return rejections_;
  }

private:
  void fill(settlement& s, time_point now) {
    s.tokens_left = balance_;
    s.refill_in_ms
      = std::chrono::duration_cast<std::chrono::milliseconds>(next_step_ - now)
          .count();
    s.refill_rate = rate_;
    s.token_flow_reduction = flow_reduction_;
    s.server_timestamp_ms
      = std::chrono::duration_cast<std::chrono::milliseconds>(now - start_)
          .count()
      + 1'700'000'000'000;
  }

  int64_t rate_;
  double flow_reduction_ = 0;
  /// Fractions of a token generated but not yet added.
  double carry_ = 0;
  int64_t balance_;
  time_point next_step_;
  time_point start_;
  int64_t generated_;
  int64_t min_balance_;
  int64_t spent_ = 0;
  int64_t rejections_ = 0;
};

} // namespace keepa::test
