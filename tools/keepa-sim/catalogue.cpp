// The deterministic book catalogue of keepa-sim: generation, updates over
// time, stats arithmetic and the simulator's own ground truth.

#include "tools/keepa-sim/detail.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <thread>

namespace keepa::sim::detail {

namespace {

constexpr int32_t year_min = 365 * day_min;

const char* const adjectives[] = {
  "Silent", "Hidden",  "Last",    "Broken",    "Golden",   "Lost",     "Quiet",
  "Wild",   "Secret",  "Burning", "Frozen",    "Little",   "Second",   "Dark",
  "Bright", "Ancient", "Modern",  "Practical", "Complete", "Essential"};

const char* const nouns[]
  = {"Garden",  "River",    "Empire",     "Kitchen",   "Algorithm",
     "Harbor",  "Mountain", "Theory",     "Letters",   "Compass",
     "Orchard", "Machine",  "Winter",     "Archive",   "Atlas",
     "Grammar", "Economy",  "Lighthouse", "Chemistry", "Calculus"};

const char* const suffixes[] = {"",
                                "",
                                "",
                                ": A Novel",
                                " (2nd Edition)",
                                " &amp; Other Stories",
                                ": A Guide",
                                " <i>Revised</i>"};

const int64_t sub_categories[] = {1, 2, 3, 4, 5, 6, 9, 10, 17, 75};

int32_t clamp32(double x) {
  return static_cast<int32_t>(std::lround(x));
}

} // namespace

// -- arithmetic ---------------------------------------------------------------

int stride_of(int type) {
  switch (type) {
    case 7:
    case 18:
    case 19:
    case 20:
    case 21:
    case 22:
    case 23:
    case 24:
    case 25:
    case 26:
    case 27:
    case 28:
    case 29:
    case 32: return 3;
    default: return 2;
  }
}

size_t points_until(const std::vector<int32_t>& h, int stride, int32_t t) {
  auto count = h.size() / stride;
  // Most asks are about the ends ("up to now", "all of it"); the probes of
  // a search would each miss the cache.
  if (count == 0 || h[0] > t)
    return 0;
  if (h[(count - 1) * stride] <= t)
    return count;
  size_t lo = 0;
  for (size_t hi = count; lo < hi;) {
    auto mid = lo + (hi - lo) / 2;
    if (h[mid * stride] <= t)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

namespace {

/// The value of segment `i` of a flat history, -1 when invalid.
int32_t segment_value(const std::vector<int32_t>& h, int stride, size_t i) {
  auto v = h[i * stride + 1];
  if (v >= 0 && stride == 3)
    v += std::max(h[i * stride + 2], 0);
  return v;
}

/// window_avgs in double arithmetic, each window summed in time order.
void window_avgs_in_order(const std::vector<int32_t>& h, int stride, int32_t to,
                          const int32_t* starts, int m, double* sum,
                          double* weight) {
  auto count = h.size() / stride;
  // The entries before the last one starting at or before the earliest
  // start end before every window.
  auto until = points_until(h, stride, starts[0]);
  for (auto i = until > 0 ? until - 1 : 0; i < count; ++i) {
    auto t0 = h[i * stride];
    if (t0 >= to)
      break;
    auto t1 = i + 1 < count ? h[(i + 1) * stride] : to;
    auto v = segment_value(h, stride, i);
    if (v < 0)
      continue;
    auto hi = std::min(t1, to);
    for (int k = 0; k < m && starts[k] < hi; ++k) {
      auto lo = std::max(t0, starts[k]);
      if (hi <= lo)
        continue;
      sum[k] += static_cast<double>(v) * (hi - lo);
      weight[k] += hi - lo;
    }
  }
}

/// window_avgs in integers, one pass from the newest segment back: each
/// window is the running total of the segments after its start plus its
/// part of the segment holding the start. False when a sum reaches 2^53,
/// where the double arithmetic of a pass in time order might round.
bool window_avgs_exact(const std::vector<int32_t>& h, int stride, int32_t to,
                       const int32_t* starts, int m, double* sum,
                       double* weight) {
  constexpr uint64_t limit = uint64_t{1} << 53;
  uint64_t run_sum = 0;
  uint64_t run_weight = 0;
  auto k = m - 1; // windows from the latest start back
  auto finish = [&](uint64_t extra_sum, uint64_t extra_weight) {
    sum[k] = static_cast<double>(run_sum + extra_sum);
    weight[k] = static_cast<double>(run_weight + extra_weight);
    --k;
    return run_sum + extra_sum < limit;
  };
  auto count = h.size() / stride;
  // The segments starting at or after `to` contribute nothing.
  auto end = to == INT32_MIN ? 0 : points_until(h, stride, to - 1);
  for (auto i = end; i-- > 0 && k >= 0;) {
    auto t0 = h[i * stride];
    auto t1 = i + 1 < count ? h[(i + 1) * stride] : to;
    auto hi = std::min(t1, to);
    auto v = segment_value(h, stride, i);
    for (; k >= 0 && starts[k] >= t0;) {
      uint64_t part = 0;
      if (v >= 0 && starts[k] < hi)
        part = static_cast<uint64_t>(hi - starts[k]);
      if (!finish(part * static_cast<uint64_t>(v), part))
        return false;
    }
    if (v >= 0 && hi > t0) {
      auto part = static_cast<uint64_t>(hi - t0);
      run_sum += part * static_cast<uint64_t>(v);
      run_weight += part;
      if (run_sum >= limit)
        return false;
    }
  }
  while (k >= 0)
    if (!finish(0, 0))
      return false;
  return true;
}

} // namespace

void window_avgs(const std::vector<int32_t>& h, int stride, int32_t to,
                 const int32_t* from, int32_t* out, int n) {
  n = std::min(n, max_windows);
  if (n <= 0)
    return;
  // Each distinct start once, earliest first: a segment then belongs to a
  // prefix of the windows (those starting before its end).
  int32_t starts[max_windows];
  std::copy(from, from + n, starts);
  std::sort(starts, starts + n);
  auto m = static_cast<int>(std::unique(starts, starts + n) - starts);
  double sum[max_windows] = {};
  double weight[max_windows] = {};
  // Below 2^53 the time-ordered double sums are exact, so the integer pass
  // gives the very same quotients.
  if (!window_avgs_exact(h, stride, to, starts, m, sum, weight)) {
    std::fill(sum, sum + m, 0.0);
    std::fill(weight, weight + m, 0.0);
    window_avgs_in_order(h, stride, to, starts, m, sum, weight);
  }
  for (int j = 0; j < n; ++j) {
    auto k = std::lower_bound(starts, starts + m, from[j]) - starts;
    out[j] = weight[k] <= 0 ? -1 : clamp32(sum[k] / weight[k]);
  }
}

int32_t window_avg(const std::vector<int32_t>& h, int stride, int32_t from,
                   int32_t to) {
  int32_t result = -1;
  window_avgs(h, stride, to, &from, &result, 1);
  return result;
}

int32_t last_value(const std::vector<int32_t>& h, int stride) {
  if (h.size() < static_cast<size_t>(stride))
    return -1;
  auto v = h[h.size() - stride + 1];
  if (stride == 3 && v >= 0)
    v += std::max(h.back(), 0);
  return v;
}

int32_t prev_value(const std::vector<int32_t>& h, int stride) {
  if (h.size() < static_cast<size_t>(2 * stride))
    return -1;
  auto v = h[h.size() - 2 * stride + 1];
  if (stride == 3 && v >= 0)
    v += std::max(h[h.size() - stride - 1], 0);
  return v;
}

int32_t rank_drops(const std::vector<int32_t>& h, int32_t from, int32_t to) {
  int32_t drops = 0;
  // Start at the first point at or after `from` (never at the very first
  // point, which has no predecessor): times ascend, so binary search.
  size_t lo = 1;
  for (size_t hi = h.size() / 2; lo < hi;) {
    auto mid = lo + (hi - lo) / 2;
    if (h[2 * mid] < from)
      lo = mid + 1;
    else
      hi = mid;
  }
  for (size_t i = 2 * lo; i + 1 < h.size(); i += 2) {
    auto t = h[i];
    if (t > to)
      break;
    auto v = h[i + 1];
    auto prev = h[i - 1];
    if (t >= from && v >= 0 && prev >= 0 && v < prev)
      ++drops;
  }
  return drops;
}

int32_t est_sell(const flat_histories& h, int32_t now) {
  const int32_t from[] = {now - 90 * day_min, now - year_min};
  int32_t avg[2];
  window_avgs(h[2], 2, now, from, avg, 2);
  auto a90 = avg[0];
  auto a365 = avg[1];
  if (a90 < 0)
    return a365;
  if (a365 < 0)
    return a90;
  return std::min(a90, a365);
}

bool passes_peek(const flat_histories& h, int32_t now) {
  auto buy = last_value(h[2], 2);
  if (buy <= 0)
    buy = last_value(h[1], 2);
  if (buy <= 0)
    return false;
  auto sell = est_sell(h, now);
  if (sell < 1200)
    return false;
  if (buy * 10 > sell * 11)
    return false;
  // Gross ROI (sell - buy) / buy >= 20 %.
  if ((sell - buy) * 5 < buy)
    return false;
  return rank_drops(h[3], now - year_min, now) >= 1;
}

int32_t profit_of(const book& b, const flat_histories& h,
                  const std::vector<offer>& offers, int32_t now) {
  int32_t buy = INT32_MAX;
  for (auto& o : offers)
    if (o.condition >= 2 && o.condition <= 5)
      buy = std::min(buy, o.price + std::max(o.ship, 0));
  auto sell = est_sell(h, now);
  if (buy == INT32_MAX || sell < 0)
    return INT32_MIN;
  auto referral = (sell * b.referral_pct + 50) / 100;
  return sell - referral - b.pick_pack - buy;
}

std::string isbn10(uint64_t seed, int index) {
  rng r{seed, static_cast<uint64_t>(index), 0x15b};
  std::string out;
  int sum = 0;
  for (int i = 1; i <= 9; ++i) {
    int d = i == 1 ? static_cast<int>(r.range(0, 1))
                   : static_cast<int>(r.range(0, 9));
    sum += i * d;
    out.push_back(static_cast<char>('0' + d));
  }
  auto check = sum % 11;
  out.push_back(check == 10 ? 'X' : static_cast<char>('0' + check));
  return out;
}

std::vector<int64_t> sub_category_ids() {
  return {std::begin(sub_categories), std::end(sub_categories)};
}

const char* category_name(int64_t id) {
  switch (id) {
    case books_category: return "Books";
    case 1: return "Arts & Photography";
    case 2: return "Biographies & Memoirs";
    case 3: return "Business & Money";
    case 4: return "Children's Books";
    case 5: return "Computers & Technology";
    case 6: return "Cookbooks, Food & Wine";
    case 9: return "History";
    case 10: return "Health, Fitness & Dieting";
    case 17: return "Literature & Fiction";
    case 75: return "Science & Math";
    default: return "?";
  }
}

// -- catalogue ----------------------------------------------------------------

catalogue::catalogue(uint64_t seed_, int products, double peek_fraction,
                     double good_fraction, int32_t spread, double level)
  : seed(seed_), spread_min(std::max(spread, 0)), price_level(level) {
  rng sr{seed, 0x5e11e5};
  const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  for (int i = 0; i < 500; ++i) {
    std::string id = "A";
    for (int j = 0; j < 13; ++j)
      id.push_back(alnum[sr.range(0, 35)]);
    if (seller_index.count(id))
      continue;
    seller_index.emplace(id, static_cast<int>(sellers.size()));
    sellers.push_back(std::move(id));
  }
  books.resize(static_cast<size_t>(std::max(products, 0)));
  by_asin.reserve(books.size());
  // ASINs in index order (a collision takes a salted one, so each depends
  // on the ones before); then the books, each from its own random streams
  // and so in any order: on all cores for a large catalogue.
  std::vector<std::string> asins;
  asins.reserve(books.size());
  for (int i = 0; i < products; ++i) {
    auto asin = isbn10(seed, i);
    for (uint64_t salt = 1; by_asin.count(asin); ++salt)
      asin = isbn10(seed ^ (salt * 0x1000193), i);
    by_asin.emplace(asin, i);
    asins.push_back(std::move(asin));
  }
  auto generate_from = [&](int first, int stride) {
    scratch tmp;
    for (int i = first; i < products; i += stride) {
      rng r{seed, static_cast<uint64_t>(i), 0xc1a55};
      auto u = r.uniform();
      auto target = u < good_fraction ? klass::good
        : u < peek_fraction           ? klass::peek
                                      : klass::bad;
      generate(i, std::move(asins[static_cast<size_t>(i)]), target, tmp);
    }
  };
  int workers = products < 4096
    ? 1
    : static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
  std::vector<std::thread> threads;
  for (int w = 1; w < workers; ++w)
    threads.emplace_back(generate_from, w, workers);
  generate_from(0, workers);
  for (auto& t : threads)
    t.join();
  std::vector<std::pair<int32_t, int>> order;
  order.reserve(books.size());
  for (int i = 0; i < products; ++i)
    order.emplace_back(books[static_cast<size_t>(i)].last_update, i);
  std::sort(order.begin(), order.end());
  recent.assign(order.begin(), order.end());
}

double catalogue::next_rank(const book& b, double level, bool sale, rng& r) {
  auto log_level = std::log(std::max(level, 1.0));
  if (sale) {
    auto target = std::max(log_level - r.between(0.3, 0.9), b.rank_base - 1.5);
    log_level = std::min(target, log_level - 0.05);
  } else {
    log_level += r.between(0.002, 0.03)
      + std::max(0.0, 0.1 * (b.rank_base - log_level));
  }
  return std::min(std::max(std::exp(log_level), 1000.0), 8.0e6);
}

int32_t catalogue::draw_buy(const book& b, rng& r) const {
  auto s = static_cast<double>(b.sell_ref);
  switch (b.target) {
    case klass::good: {
      auto hi = 0.85 * s - b.pick_pack - good_profit_cents - 399 - 150;
      return clamp32(r.between(s / 3.0, std::max(hi, s / 3.0 + 1)));
    }
    case klass::peek: {
      auto lo = std::max(0.85 * s - b.pick_pack - 350, s / 1.6);
      return clamp32(r.between(lo, s / 1.25));
    }
    default: break;
  }
  switch (b.subtype) {
    case 0: return clamp32(s * r.between(0.3, 1.0));
    case 1: return -1;
    case 2: return clamp32(s / r.between(1.3, 2.5));
    default: return clamp32(s * r.between(0.9, 1.5));
  }
}

namespace {

/// Draws what a book is: title, category, fees, the subtype of a bad book,
/// its price level, its dates and its offer counts.
void draw_identity(book& b, klass target, int32_t spread_min, double level,
                   rng& r) {
  b.title = std::string{"The "} + adjectives[r.range(0, 19)] + " "
    + nouns[r.range(0, 19)] + suffixes[r.range(0, 7)];
  b.sub_category = sub_categories[r.range(0, 9)];
  b.pick_pack = clamp32(static_cast<double>(r.range(250, 450)) * level);
  b.referral_pct = 15;
  if (target == klass::bad) {
    auto v = r.uniform();
    b.subtype = v < 0.45 ? 0 : v < 0.55 ? 1 : v < 0.70 ? 2 : 3;
  }
  switch (target) {
    case klass::good:
      b.sell_ref = clamp32(r.between(4500, 12000) * level);
      break;
    case klass::peek:
      b.sell_ref = clamp32(r.between(2000, 9000) * level);
      break;
    default:
      b.sell_ref = b.subtype == 0 ? clamp32(r.between(300, 1100) * level)
                                  : clamp32(r.between(1500, 8000) * level);
  }
  b.tracking_since = -static_cast<int32_t>(r.range(400, 1500)) * day_min;
  b.last_update = -static_cast<int32_t>(r.range(0, spread_min));
  b.last_price_change = b.last_update;
  b.creation = b.last_update;
  b.n_used_offers = b.subtype == 1 && target == klass::bad
    ? 0
    : static_cast<int>(r.range(1, 45));
  b.n_new_offers = static_cast<int>(r.range(0, 25));
}

/// The price histories: USED around the price level, now and then out of
/// stock, then the current price at the last price change; NEW, AMAZON
/// and LISTPRICE.
void draw_prices(const catalogue& cat, book& b, flat_histories& csv, rng& r) {
  auto s = static_cast<double>(b.sell_ref);
  auto& used = csv[2];
  for (auto t = b.tracking_since; t < b.last_price_change;
       t += static_cast<int32_t>(r.range(2 * day_min, 9 * day_min))) {
    auto v = r.uniform() < 0.04 ? -1 : clamp32(s * r.between(0.88, 1.12));
    push(used, t, v);
  }
  push(used, b.last_price_change, cat.draw_buy(b, r));
  // NEW, AMAZON, LISTPRICE.
  auto& fresh = csv[1];
  for (auto t = b.tracking_since; t < b.last_update;
       t += static_cast<int32_t>(r.range(5 * day_min, 15 * day_min)))
    push(fresh, t, b.n_new_offers == 0 ? -1 : clamp32(s * r.between(1.2, 1.6)));
  auto& amazon = csv[0];
  if (r.uniform() < 0.25) {
    for (auto t = b.tracking_since; t < b.last_update;
         t += static_cast<int32_t>(r.range(10 * day_min, 40 * day_min)))
      push(amazon, t,
           r.uniform() < 0.3 ? -1 : clamp32(s * r.between(1.15, 1.4)));
  } else {
    push(amazon, b.tracking_since, -1);
  }
  push(csv[4], b.tracking_since, clamp32(s * 2.2));
}

/// The SALES rank: a random walk upwards, with drops (sales) at random
/// points of the last year.
void draw_ranks(book& b, klass target, rng& r, catalogue::scratch& tmp) {
  auto& rank = tmp.csv[3];
  b.rank_base = r.between(std::log(5000.0), std::log(3.0e6));
  auto level = std::exp(b.rank_base);
  auto& times = tmp.times;
  times.clear();
  for (auto t = b.tracking_since; t < b.last_update;
       t += static_cast<int32_t>(r.range(day_min, 3 * day_min)))
    times.push_back(t);
  times.push_back(b.last_update);
  int32_t drops365 = target == klass::bad && b.subtype == 2
    ? 0
    : static_cast<int32_t>(r.range(target == klass::bad ? 0 : 1, 30));
  auto& recent = tmp.recent;
  recent.clear();
  for (size_t i = 1; i < times.size(); ++i)
    if (times[i] >= -year_min)
      recent.push_back(i);
  auto& drop = tmp.drop;
  drop.assign(times.size(), false);
  for (int32_t d = 0; d < drops365 && !recent.empty(); ++d) {
    auto pick = static_cast<size_t>(
      r.range(0, static_cast<int64_t>(recent.size()) - 1));
    drop[recent[pick]] = true;
    recent.erase(recent.begin() + static_cast<std::ptrdiff_t>(pick));
  }
  for (size_t i = 0; i < times.size(); ++i) {
    if (i > 0) {
      bool old = times[i] < -year_min;
      auto sale = drop[i] || (old && r.uniform() < 0.1);
      level = catalogue::next_rank(b, level, sale, r);
    }
    push(rank, times[i], clamp32(level));
  }
}

/// The offer counts; RATING and COUNT_REVIEWS, which most books have.
void draw_counts(book& b, flat_histories& csv, rng& r) {
  push(csv[11], b.tracking_since, static_cast<int32_t>(r.range(0, 30)));
  push(csv[11], b.last_update, b.n_new_offers);
  push(csv[12], b.tracking_since, static_cast<int32_t>(r.range(0, 30)));
  push(csv[12], b.last_update, b.n_used_offers);
  // RATING and COUNT_REVIEWS: most books have them.
  if (r.uniform() < 0.9) {
    auto rated = -static_cast<int32_t>(r.range(0, 60)) * day_min;
    push(csv[16], b.tracking_since + day_min,
         static_cast<int32_t>(r.range(30, 50)));
    push(csv[16], rated, static_cast<int32_t>(r.range(30, 50)));
    push(csv[17], b.tracking_since + day_min,
         static_cast<int32_t>(r.range(0, 50)));
    push(csv[17], rated, static_cast<int32_t>(r.range(50, 5000)));
  }
}

} // namespace

void catalogue::generate(int index, std::string asin, klass target,
                         scratch& tmp) {
  auto& b = books[static_cast<size_t>(index)];
  // Attempts draw into the scratch histories; the book keeps the last.
  auto& csv = tmp.csv;
  for (int attempt = 0; attempt < 40; ++attempt) {
    rng r{seed, static_cast<uint64_t>(index),
          0xb00c + static_cast<uint64_t>(attempt)};
    for (auto& h : csv)
      h.clear();
    b = book{};
    b.asin = asin;
    b.target = target;
    // The draws in this order: a seed replays the same books.
    draw_identity(b, target, spread_min, price_level, r);
    draw_prices(*this, b, csv, r);
    draw_ranks(b, target, r, tmp);
    draw_counts(b, csv, r);
    classify(index, 0, csv);
    bool ok = target == klass::good ? b.good
      : target == klass::peek       ? b.peek_pass && !b.good
                                    : !b.peek_pass;
    if (ok)
      break;
  }
  b.csv.assign(csv);
}

std::vector<offer> catalogue::offers_of(int index) const {
  auto& h = books[static_cast<size_t>(index)].csv;
  return offers_for(index, h.last_value(2), h.last_value(1));
}

std::vector<offer> catalogue::offers_for(int index, int32_t used,
                                         int32_t fresh) const {
  auto& b = books[static_cast<size_t>(index)];
  rng r{seed, static_cast<uint64_t>(index), 0x0ff0000ULL + b.version};
  std::vector<offer> out;
  auto pick_seller = [&] {
    return sellers[static_cast<size_t>(
      r.range(0, static_cast<int64_t>(sellers.size()) - 1))];
  };
  if (used > 0) {
    for (int i = 0; i < b.n_used_offers; ++i) {
      offer o;
      o.price = i == 0 ? used : clamp32(used * r.between(1.0, 1.8));
      o.fba = r.uniform() < 0.3;
      o.prime = o.fba;
      o.ship = o.fba ? 0 : 399;
      o.condition = static_cast<int32_t>(r.range(2, 5));
      o.seller_id = pick_seller();
      out.push_back(std::move(o));
    }
  }
  if (fresh > 0) {
    for (int i = 0; i < b.n_new_offers; ++i) {
      offer o;
      o.price = i == 0 ? fresh : clamp32(fresh * r.between(1.0, 1.5));
      o.fba = r.uniform() < 0.4;
      o.prime = o.fba;
      o.ship = o.fba ? 0 : 399;
      o.condition = 1;
      o.seller_id = pick_seller();
      out.push_back(std::move(o));
    }
  }
  for (size_t i = 0; i < out.size(); ++i)
    out[i].offer_id = static_cast<int32_t>(i);
  std::stable_sort(out.begin(), out.end(), [](const offer& x, const offer& y) {
    return x.price + x.ship < y.price + y.ship;
  });
  return out;
}

void catalogue::classify(int index, int32_t now, const flat_histories& h) {
  auto& b = books[static_cast<size_t>(index)];
  b.peek_pass = passes_peek(h, now);
  b.good = b.peek_pass
    && profit_of(
         b, h, offers_for(index, last_value(h[2], 2), last_value(h[1], 2)), now)
      >= good_profit_cents;
}

void catalogue::update(uint64_t k, int32_t now) {
  if (books.empty())
    return;
  rng pick{seed, 0x5eed, k};
  auto index
    = static_cast<int>(pick.range(0, static_cast<int64_t>(books.size()) - 1));
  auto& b = books[static_cast<size_t>(index)];
  if (now <= b.last_update)
    return;
  ++b.version;
  rng r{seed, static_cast<uint64_t>(index), 0x0da7e0000ULL + b.version};
  auto before = b.csv.last_value(2);
  auto buy = draw_buy(b, r);
  b.csv.push(2, now, buy);
  if (buy != before)
    b.last_price_change = now;
  // A sale now and then (never for the books without rank drops).
  auto level = static_cast<double>(b.csv.last_value(3));
  if (level > 0) {
    bool sale = !(b.target == klass::bad && b.subtype == 2)
      && r.uniform() < 0.3;
    b.csv.push(3, now, clamp32(next_rank(b, level, sale, r)));
  }
  if (b.n_used_offers > 0 && buy > 0)
    b.n_used_offers
      = std::max(1, b.n_used_offers + static_cast<int>(r.range(-2, 2)));
  b.csv.push(12, now, b.n_used_offers);
  b.last_update = now;
  b.creation = now;
  recent.emplace_back(now, index);
  while (!recent.empty() && recent.front().first < now - recent_span)
    recent.pop_front();
  // The classification reads the last year of NEW, USED and SALES.
  auto& h = update_tmp.csv;
  for (int t : {1, 2, 3})
    b.csv.get(t, h[static_cast<size_t>(t)], now - year_min);
  classify(index, now, h);
}

} // namespace keepa::sim::detail
