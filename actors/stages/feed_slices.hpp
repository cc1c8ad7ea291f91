// The SCANNER's slices of the deal query as a plain class: no actors, no
// clock, no I/O. One /deal query lists at most 10 000 deals and Keepa keeps
// its result set for 120 s, so a feed that moves faster than 10 000 deals in
// a cache period cannot be read through one query. The slices split the
// query into disjoint price bands of its price type (`currentRange`,
// inclusive cents, Keepa's range filter), each a query of its own with its
// own result set. Every deal with a price lies in exactly one band, so the
// slices together list the whole feed once.
//
// A slice whose pass ran into the result cap (it listed 10 000 deals and
// never reached the floor) is split at the median price of what it listed,
// up to `max` slices; a query without bands is sent unchanged (one slice).

#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace keepa {

class feed_slices {
public:
  // -- member types -----------------------------------------------------------

  /// One price band, inclusive; `hi` < 0 means no upper bound.
  struct band {
    int64_t lo = 0;
    int64_t hi = -1;
  };

  // -- constructors -----------------------------------------------------------

  feed_slices() = default;

  /// Slices of `selection` (a /deal selection JSON object; it may name no
  /// price type only without `bounds`) at the band
  /// boundaries `bounds` (cents, ascending, each > 0): [0, b1 - 1], [b1, b2 -
  /// 1], ..., [bn, no bound], intersected with the selection's own
  /// currentRange when its ranges are enabled. No bounds: one slice, the
  /// selection unchanged until it is split.
  static caf::expected<feed_slices> make(const std::string& selection,
                                         const std::vector<int64_t>& bounds);

  // -- modifiers --------------------------------------------------------------

  /// Splits slice `i` into `parts` bands (2 or more; fewer when `max`
  /// slices would be exceeded) at the quantiles of `prices` (the prices its
  /// deals listed, any order), so that each holds about as many of them;
  /// false when the prices do not split the band (all equal, none inside
  /// it) or `max` slices exist.
  bool split(size_t i, std::vector<int64_t> prices, size_t max,
             size_t parts = 2);

  // -- inspectors -------------------------------------------------------------

  size_t size() const {
    return bands_.size();
  }

  const std::vector<band>& bands() const {
    return bands_;
  }

  /// The selection JSON of slice `i`.
  std::string selection(size_t i) const;

  /// The selection's price type (priceTypes[0]): the deal array index the
  /// bands apply to; -1 when it names none (then it is never split).
  int price_type() const {
    return price_type_;
  }

  /// The bands as text ("0-999,1000-"), for the status.
  std::string to_string() const;

private:
  std::string base_;
  int price_type_ = -1;
  /// Whether the query is sent as written (one slice, never split).
  bool whole_ = true;
  std::vector<band> bands_;
};

} // namespace keepa
