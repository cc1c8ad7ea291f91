#include "tools/keepa-sim/history.hpp"

#include <algorithm>

namespace keepa::sim::detail {

namespace {

// -- LEB128 varints; differences wrap around in uint32, so any int32 points
//    round-trip --------------------------------------------------------------

/// Most bytes a varint of T takes.
template<class T>
constexpr size_t max_bytes = (sizeof(T) * 8 + 6) / 7;

template<class T>
uint8_t* put(uint8_t* out, T x) {
  for (; x >= 0x80; x >>= 7)
    *out++ = static_cast<uint8_t>(x | 0x80);
  *out++ = static_cast<uint8_t>(x);
  return out;
}

template<class T>
T take(const uint8_t*& p) {
  T x = 0;
  for (int shift = 0;; shift += 7) {
    auto byte = *p++;
    x |= static_cast<T>(byte & 0x7f) << shift;
    if (byte < 0x80)
      return x;
  }
}

uint32_t zigzag(uint32_t x) {
  return (x << 1) ^ (0u - (x >> 31));
}

uint32_t unzigzag(uint32_t z) {
  return (z >> 1) ^ (0u - (z & 1));
}

int32_t to_int(uint32_t x) {
  return static_cast<int32_t>(x);
}

/// Writes the points of flat history `h` (at least one), newest first, to
/// `out`, which has room for 2 * max_bytes<uint32_t> a point; returns the
/// end.
uint8_t* encode(const std::vector<int32_t>& h, uint8_t* out) {
  auto n = h.size() / 2;
  auto t = static_cast<uint32_t>(h[2 * (n - 1)]);
  auto v = static_cast<uint32_t>(h[2 * (n - 1) + 1]);
  out = put(out, zigzag(t));
  out = put(out, zigzag(v));
  for (auto i = n - 1; i-- > 0;) {
    auto older_t = static_cast<uint32_t>(h[2 * i]);
    auto older_v = static_cast<uint32_t>(h[2 * i + 1]);
    out = put(out, t - older_t);
    out = put(out, zigzag(v - older_v));
    t = older_t;
    v = older_v;
  }
  return out;
}

} // namespace

void push(std::vector<int32_t>& h, int32_t t, int32_t v) {
  if (h.size() >= 2 && h[h.size() - 2] >= t) {
    h.back() = v;
    return;
  }
  h.push_back(t);
  h.push_back(v);
}

void histories::assign(const flat_histories& h) {
  // Encoded in a buffer of this thread (books are generated on all cores),
  // then copied to a block of the exact size.
  thread_local std::vector<uint8_t> buffer;
  uint64_t mask = 0;
  size_t points = 0;
  for (int t = 0; t < n_types; ++t) {
    auto n = h[static_cast<size_t>(t)].size() / 2;
    if (n > 0)
      mask |= uint64_t{1} << t;
    points += n;
  }
  if (buffer.size() < points * 2 * max_bytes<uint32_t>)
    buffer.resize(points * 2 * max_bytes<uint32_t>);
  // The points, then the head that goes before them.
  std::array<size_t, n_types> length{};
  auto end = buffer.data();
  for (int t = 0; t < n_types; ++t) {
    if (!(mask & (uint64_t{1} << t)))
      continue;
    auto begin = end;
    end = encode(h[static_cast<size_t>(t)], end);
    length[static_cast<size_t>(t)] = static_cast<size_t>(end - begin);
  }
  uint8_t head[max_bytes<uint64_t> + 2 * n_types * max_bytes<size_t>];
  auto head_end = put(head, mask);
  for (int t = 0; t < n_types; ++t) {
    if (!(mask & (uint64_t{1} << t)))
      continue;
    head_end = put(head_end, length[static_cast<size_t>(t)]);
    head_end = put(head_end, h[static_cast<size_t>(t)].size() / 2);
  }
  std::vector<uint8_t> block;
  if (mask != 0) {
    block.reserve(static_cast<size_t>(head_end - head)
                  + static_cast<size_t>(end - buffer.data()));
    block.insert(block.end(), head, head_end);
    block.insert(block.end(), buffer.data(), end);
  }
  block_.swap(block);
  pushed_ = {};
}

histories::span histories::segment(int type) const {
  if (block_.empty())
    return {};
  auto p = block_.data();
  auto mask = take<uint64_t>(p);
  if (!(mask & (uint64_t{1} << type)))
    return {};
  size_t offset = 0;
  size_t points = 0;
  for (int t = 0; t < n_types; ++t) {
    if (!(mask & (uint64_t{1} << t)))
      continue;
    auto bytes = take<size_t>(p);
    auto n = take<size_t>(p);
    if (t < type)
      offset += bytes;
    else if (t == type)
      points = n;
  }
  // The head ends here.
  return {p + offset, points};
}

void histories::push(int type, int32_t t, int32_t v) {
  pushed_.push_back({type, t, v});
  // Fold when the pushed points take more than a quarter of the block:
  // folds copy each point a few times, and the list stays short.
  if (pushed_.size() * sizeof(pushed) * 4
      > std::max<size_t>(block_.size(), 512))
    fold();
}

void histories::fold() {
  flat_histories h;
  for (int t = 0; t < n_types; ++t)
    get(t, h[static_cast<size_t>(t)]);
  assign(h);
}

bool histories::empty(int type) const {
  if (segment(type).points > 0)
    return false;
  return std::none_of(pushed_.begin(), pushed_.end(),
                      [type](const pushed& x) { return x.type == type; });
}

int32_t histories::last_value(int type) const {
  for (auto i = pushed_.rbegin(); i != pushed_.rend(); ++i)
    if (i->type == type)
      return i->v;
  auto s = segment(type);
  if (s.points == 0)
    return -1;
  take<uint32_t>(s.begin);
  return to_int(unzigzag(take<uint32_t>(s.begin)));
}

int32_t histories::last_time(int type) const {
  auto s = segment(type);
  bool any = s.points > 0;
  auto last = any ? to_int(unzigzag(take<uint32_t>(s.begin))) : INT32_MIN;
  // A pushed point in the minute of the last one (or before) keeps its
  // time.
  for (auto& x : pushed_) {
    if (x.type != type || (any && last >= x.t))
      continue;
    last = x.t;
    any = true;
  }
  return last;
}

void histories::get(int type, std::vector<int32_t>& out, int32_t since) const {
  auto s = segment(type);
  out.resize(2 * s.points);
  if (s.points > 0) {
    // Newest first, so filled from the back.
    auto p = s.begin;
    auto first = out.data() + out.size();
    auto t = unzigzag(take<uint32_t>(p));
    auto v = unzigzag(take<uint32_t>(p));
    *--first = to_int(v);
    *--first = to_int(t);
    for (size_t left = s.points - 1;
         left > 0 && (to_int(t) >= since || left + 2 > s.points); --left) {
      t -= take<uint32_t>(p);
      v -= unzigzag(take<uint32_t>(p));
      *--first = to_int(v);
      *--first = to_int(t);
    }
    out.erase(out.begin(), out.begin() + (first - out.data()));
  }
  for (auto& x : pushed_)
    if (x.type == type)
      detail::push(out, x.t, x.v);
}

} // namespace keepa::sim::detail
