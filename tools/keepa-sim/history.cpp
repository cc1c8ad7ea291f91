#include "tools/keepa-sim/history.hpp"

#include <algorithm>
#include <utility>

namespace keepa::sim::detail {

namespace {

// -- LEB128 varints; differences wrap around in uint32, so any int32 points
//    round-trip --------------------------------------------------------------

template <class T>
void put(std::vector<uint8_t>& out, T x) {
  for (; x >= 0x80; x >>= 7)
    out.push_back(static_cast<uint8_t>(x | 0x80));
  out.push_back(static_cast<uint8_t>(x));
}

template <class T>
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

/// Appends the points of flat history `h`, newest first.
void encode(const std::vector<int32_t>& h, std::vector<uint8_t>& out) {
  auto n = h.size() / 2;
  auto t = static_cast<uint32_t>(h[2 * (n - 1)]);
  auto v = static_cast<uint32_t>(h[2 * (n - 1) + 1]);
  put(out, zigzag(t));
  put(out, zigzag(v));
  for (auto i = n - 1; i-- > 0;) {
    auto older_t = static_cast<uint32_t>(h[2 * i]);
    auto older_v = static_cast<uint32_t>(h[2 * i + 1]);
    put(out, t - older_t);
    put(out, zigzag(v - older_v));
    t = older_t;
    v = older_v;
  }
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
  uint64_t mask = 0;
  std::array<size_t, n_types> length{};
  std::vector<uint8_t> points;
  for (int t = 0; t < n_types; ++t) {
    auto& x = h[static_cast<size_t>(t)];
    if (x.size() < 2)
      continue;
    mask |= uint64_t{1} << t;
    auto before = points.size();
    encode(x, points);
    length[static_cast<size_t>(t)] = points.size() - before;
  }
  std::vector<uint8_t> block;
  if (mask != 0) {
    put(block, mask);
    for (int t = 0; t < n_types; ++t)
      if (mask & (uint64_t{1} << t))
        put(block, length[static_cast<size_t>(t)]);
    block.reserve(block.size() + points.size());
    block.insert(block.end(), points.begin(), points.end());
  }
  block_.swap(block);
  pushed_ = {};
}

std::pair<const uint8_t*, const uint8_t*> histories::segment(int type) const {
  if (block_.empty())
    return {nullptr, nullptr};
  auto p = block_.data();
  auto mask = take<uint64_t>(p);
  if (!(mask & (uint64_t{1} << type)))
    return {nullptr, nullptr};
  size_t offset = 0;
  size_t length = 0;
  for (int t = 0; t < n_types; ++t) {
    if (!(mask & (uint64_t{1} << t)))
      continue;
    auto n = take<size_t>(p);
    if (t < type)
      offset += n;
    else if (t == type)
      length = n;
  }
  return {p + offset, p + offset + length};
}

void histories::push(int type, int32_t t, int32_t v) {
  pushed_.push_back({type, t, v});
  // Fold when the pushed points take more than a quarter of the block:
  // folds copy each point a few times, and the list stays short.
  if (pushed_.size() * sizeof(pushed) * 4 > std::max<size_t>(block_.size(), 512))
    fold();
}

void histories::fold() {
  flat_histories h;
  for (int t = 0; t < n_types; ++t)
    get(t, h[static_cast<size_t>(t)]);
  assign(h);
}

bool histories::empty(int type) const {
  auto [p, end] = segment(type);
  if (p != end)
    return false;
  return std::none_of(pushed_.begin(), pushed_.end(),
                      [type](const pushed& x) { return x.type == type; });
}

int32_t histories::last_value(int type) const {
  for (auto i = pushed_.rbegin(); i != pushed_.rend(); ++i)
    if (i->type == type)
      return i->v;
  auto [p, end] = segment(type);
  if (p == end)
    return -1;
  take<uint32_t>(p);
  return to_int(unzigzag(take<uint32_t>(p)));
}

int32_t histories::last_time(int type) const {
  auto [p, end] = segment(type);
  bool any = p != end;
  auto last = any ? to_int(unzigzag(take<uint32_t>(p))) : INT32_MIN;
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
  out.clear();
  auto [p, end] = segment(type);
  if (p != end) {
    auto t = unzigzag(take<uint32_t>(p));
    auto v = unzigzag(take<uint32_t>(p));
    out.push_back(to_int(t));
    out.push_back(to_int(v));
    while (p != end && (to_int(t) >= since || out.size() < 4)) {
      t -= take<uint32_t>(p);
      v -= unzigzag(take<uint32_t>(p));
      out.push_back(to_int(t));
      out.push_back(to_int(v));
    }
    // Newest first -> oldest first.
    for (size_t i = 0, j = out.size() - 2; i < j; i += 2, j -= 2) {
      std::swap(out[i], out[j]);
      std::swap(out[i + 1], out[j + 1]);
    }
  }
  for (auto& x : pushed_)
    if (x.type == type)
      detail::push(out, x.t, x.v);
}

} // namespace keepa::sim::detail
