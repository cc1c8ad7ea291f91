// Keepa's token bucket, projected forward from the newest observation.
// Plain arithmetic: time is always an argument, nothing here reads a clock.

#pragma once

#include <chrono>
#include <cstdint>

namespace keepa {

using clock_type = std::chrono::steady_clock;
using time_point = clock_type::time_point;
using duration = clock_type::duration;

/// Keepa adds the whole refill rate once per minute.
constexpr auto refill_period = std::chrono::minutes(1);

/// Unused tokens expire after an hour, so the bucket holds at most 60 x R.
constexpr int64_t cap_minutes = 60;

/// The highest refill rate (tokens per minute) taken as true: far above
/// any Keepa plan. Higher rates, and balances beyond cap_minutes times it
/// either way, are refused as observations.
constexpr int64_t max_refill_rate = 10'000'000;

/// The refill a plan gets: `refillRate` less `tokenFlowReduction` (Q9 of
/// keepa-api.md: refillRate taken as gross), in whole tokens rounded down,
/// at least 0. A negative or non-finite reduction counts as none.
int64_t net_refill_rate(int64_t rate, double flow_reduction);

/// Keepa's bucket for one key as seen from one observation (an answer's
/// envelope): R tokens per minute in whole steps at the phase `refillIn`
/// gives, capped at 60 x R. Never overestimates: a projection assumes the
/// refill step happens at the observed phase as seen when the answer
/// arrived, which is no earlier than Keepa's own step.
///
/// R is the net rate: `refillRate` less `tokenFlowReduction` (what API
/// trackings take off the refill), rounded down. Whether Keepa's
/// `refillRate` is already net of the reduction is undocumented (Q9 of
/// keepa-api.md); we take it as gross, the hard way: if it is net, we
/// under-plan by the reduction (a few tokens a minute left unused), while
/// taking it as net when it is gross would plan with tokens that never
/// come and send requests at a balance <= 0. The cap is 60 x the net rate
/// (tokens expire an hour after they are generated), also the lower of
/// the two readings.
class token_bucket {
public:
  // -- modifiers --------------------------------------------------------------

  /// Takes an observation made at `now` (local time of arrival); `rate` is
  /// the envelope's refillRate and `flow_reduction` its
  /// tokenFlowReduction. Returns false and changes nothing if a newer
  /// observation (by server timestamp) is already held, or if the rate,
  /// reduction or balance is absurd (a negative rate, one above
  /// max_refill_rate, a negative or non-finite reduction, a balance beyond
  /// cap_minutes times that).
  bool observe(int64_t balance, int64_t refill_in_ms, int64_t rate,
               int64_t server_ms, time_point now, double flow_reduction = 0);

  /// Takes an HTTP 429 made at `now`: Keepa refused, so the balance was not
  /// positive, whatever the envelope said. Keeps the envelope's rate and
  /// phase when given (`server_ms` > 0 and plausible), else the held ones;
  /// the balance becomes min(`balance`, 0), or min(projection, 0). Replaces
  /// the observation whatever its timestamp: a refusal is the freshest
  /// fact there is.
  void refused(int64_t balance, int64_t refill_in_ms, int64_t rate,
               int64_t server_ms, time_point now, double flow_reduction = 0);

  // -- inspectors -------------------------------------------------------------

  bool has_observation() const {
    return observed_;
  }

  /// The net refill rate the projection uses: refillRate less
  /// tokenFlowReduction, rounded down, at least 0.
  int64_t rate() const {
    return rate_;
  }

  /// The envelope's refillRate (taken as gross).
  int64_t gross_rate() const {
    return gross_rate_;
  }

  /// The envelope's tokenFlowReduction.
  double flow_reduction() const {
    return flow_reduction_;
  }

  /// 60 x R; 0 when nothing refills (then there is no cap to speak of).
  int64_t cap() const {
    return cap_minutes * rate_;
  }

  /// Local time of the newest observation.
  time_point observed_at() const {
    return at_;
  }

  int64_t server_ms() const {
    return server_ms_;
  }

  /// Number of refill steps in (at, t].
  int64_t steps_until(time_point t) const;

  /// Keepa's balance at `t` if nobody spends after the observation.
  int64_t projected(time_point t) const;

  /// The first refill step strictly after `t`.
  time_point next_refill_after(time_point t) const;

  /// Earliest time >= `from` at which projected() - `spent` >= `target`;
  /// time_point::max() if that never happens (target above the cap, or no
  /// refill at all).
  time_point earliest(int64_t target, int64_t spent, time_point from) const;

  /// Tokens the refill steps in (t0, t1] would have added but the cap
  /// swallowed, assuming nobody spends in between.
  int64_t lost_at_cap(time_point t0, time_point t1) const;

private:
  bool observed_ = false;
  int64_t balance_ = 0;
  int64_t rate_ = 0;
  int64_t gross_rate_ = 0;
  double flow_reduction_ = 0;
  int64_t server_ms_ = 0;
  time_point at_;
  time_point first_step_;
};

} // namespace keepa
