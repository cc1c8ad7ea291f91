// A book's csv histories as keepa-sim's catalogue keeps them: compact, and
// appended to without copying. keepa-eta holds 400 000 books of about 760
// points each; as int32 pairs in 36 vectors a book they took 3 GB before
// the first update.

#pragma once

#include <array>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace keepa::sim::detail {

/// Number of csv price types Keepa currently knows.
constexpr int n_types = 36;

/// Flat histories by csv type, each [time, value, time, value, ...] with
/// times ascending; empty = null.
using flat_histories = std::array<std::vector<int32_t>, n_types>;

/// Appends point (t, v) to a flat history; a point in the same minute as
/// the last one (or before it) replaces the last one's value.
void push(std::vector<int32_t>& h, int32_t t, int32_t v);

/// One book's csv histories (stride 2: time, value).
///
/// The points as generated sit in one block, each type's newest first as
/// LEB128 varints: the newest point (zigzag), then for each older one its
/// distance in minutes and the zigzag change of the value (about 4.4 bytes
/// a point instead of 8). Points pushed later wait in a short list (12
/// bytes a point) that is folded into the block once it takes more than a
/// quarter of the block's bytes: a push never copies the history, and a
/// fold, which does, comes only after a quarter of the block in new
/// points.
class histories {
public:
  /// Takes `h` as the whole content.
  void assign(const flat_histories& h);

  /// push() on the history of `type`.
  void push(int type, int32_t t, int32_t v);

  /// Whether the history of `type` is empty (null).
  bool empty(int type) const;

  /// The last value of `type`, -1 when empty.
  int32_t last_value(int type) const;

  /// The time of the last point of `type`, INT32_MIN when empty.
  int32_t last_time(int type) const;

  /// Writes the history of `type` to `out` (flat, stride 2): its last
  /// points, at least those from `since` on, the one before them, and the
  /// last two (the points pushed since the last fold come whole). The
  /// default gives the whole history.
  void get(int type, std::vector<int32_t>& out,
           int32_t since = INT32_MIN) const;

private:
  struct pushed {
    int32_t type;
    int32_t t;
    int32_t v;
  };

  /// The encoded points of `type` in the block, and how many.
  struct span {
    const uint8_t* begin = nullptr;
    size_t points = 0;
  };

  span segment(int type) const;

  /// Folds the pushed points into the block.
  void fold();

  /// A bit per type that has points in the block, the byte length and
  /// number of each such type's points, then the points, type by type.
  std::vector<uint8_t> block_;
  std::vector<pushed> pushed_;
};

} // namespace keepa::sim::detail
