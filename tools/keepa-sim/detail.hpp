// Internals of keepa-sim's model: the deterministic random source, the book
// records and the catalogue arithmetic (stats, analysis, feed deals). Not
// part of the interface; tests include it to check the arithmetic directly.

#pragma once

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "tools/keepa-sim/history.hpp"

namespace keepa::sim::detail {

// -- deterministic random source ----------------------------------------------

/// SplitMix64: portable, so a seed replays identically everywhere.
class rng {
public:
  explicit rng(uint64_t seed) : state_(seed) {
    // nop
  }

  rng(uint64_t a, uint64_t b, uint64_t c = 0)
    : state_(mix(a ^ mix(b + 0x9e3779b97f4a7c15ULL) ^ mix(c + 7))) {
    // nop
  }

  static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return mix(state_);
  }

  /// Uniform in [0, 1).
  double uniform() {
    return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0);
  }

  /// Uniform integer in [lo, hi].
  int64_t range(int64_t lo, int64_t hi) {
    if (hi <= lo)
      return lo;
    return lo
      + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1));
  }

  double between(double lo, double hi) {
    return lo + (hi - lo) * uniform();
  }

private:
  uint64_t state_;
};

// -- catalogue ----------------------------------------------------------------

/// The Books root category.
constexpr int64_t books_category = 283155;

/// Minutes per day.
constexpr int32_t day_min = 1440;

enum class klass : uint8_t { bad, peek, good };

/// One live marketplace offer.
struct offer {
  int32_t offer_id = 0;
  std::string seller_id;
  int32_t price = 0;
  int32_t ship = 0;
  /// 1 new, 2..5 used like new .. acceptable.
  int32_t condition = 2;
  bool fba = false;
  bool prime = false;
};

/// One book. Times are minutes relative to the catalogue origin (the
/// model's start), so the catalogue does not depend on the wall clock.
struct book {
  std::string asin;
  std::string title;
  int64_t sub_category = 0;
  klass target = klass::bad;
  /// Used price level the history oscillates around, cents.
  int32_t sell_ref = 0;
  /// Sales rank the book's rank returns to after sales, log scale.
  double rank_base = 0;
  int32_t pick_pack = 0;
  int32_t referral_pct = 15;
  /// The csv histories by type; empty = null. Types 19..22 are derived
  /// from USED when offers are asked.
  histories csv;
  int32_t tracking_since = 0;
  int32_t last_update = 0;
  int32_t last_price_change = 0;
  /// Keepa minute the current deal was found.
  int32_t creation = 0;
  /// Product refresh by the `update` parameter, Unix ms (0 = never).
  int64_t refreshed_ms = 0;
  /// Last offers fetch, Unix ms (0 = never).
  int64_t offers_fetched_ms = 0;
  /// Bumped on every update; offers derive from it.
  uint32_t version = 0;
  int n_used_offers = 0;
  int n_new_offers = 0;
  /// Why a bad book is bad (0 cheap, 1 no used offer, 2 no rank drops,
  /// 3 overpriced); 0 for the others.
  int subtype = 0;
  bool peek_pass = false;
  bool good = false;
};

/// Number of points of a flat history at or before relative minute `t`
/// (times ascend, so a binary search).
size_t points_until(const std::vector<int32_t>& h, int stride, int32_t t);

/// Time-weighted average of a flat history over [from, to] (relative
/// minutes), ignoring negative values; -1 when nothing is valid.
int32_t window_avg(const std::vector<int32_t>& h, int stride, int32_t from,
                   int32_t to);

/// Most windows window_avgs takes at once.
constexpr int max_windows = 8;

/// `out[k] = window_avg(h, stride, from[k], to)` for k < n (at most
/// max_windows), in one pass over the history.
void window_avgs(const std::vector<int32_t>& h, int stride, int32_t to,
                 const int32_t* from, int32_t* out, int n);

/// Last value of a history, -1 when empty.
int32_t last_value(const std::vector<int32_t>& h, int stride);

/// Value before the last one, -1 when absent.
int32_t prev_value(const std::vector<int32_t>& h, int stride);

/// Number of sales-rank drops with a point in [from, to].
int32_t rank_drops(const std::vector<int32_t>& h, int32_t from, int32_t to);

/// The stride of a csv type (3 for the "with shipping" types).
int stride_of(int type);

/// The functions below read a book's NEW, USED and SALES histories as
/// flat_histories, each at least from the point before `now` - 365 days on
/// (histories::get with that `since`).

/// Estimated sell price: the lower of the USED 90- and 365-day averages
/// (whichever exist), -1 without data.
int32_t est_sell(const flat_histories& h, int32_t now);

/// Peek-style viability at `now`: buy = current USED (else NEW) exists,
/// est. sell >= $12, buy <= 1.1 x sell, gross ROI >= 20 %, >= 1 sales-rank
/// drop in 365 days.
bool passes_peek(const flat_histories& h, int32_t now);

/// Full analysis: buy = lowest used landing price among the live offers,
/// profit = sell - referral - pick&pack - buy; good iff the peek passes and
/// profit >= good_profit_cents. Returns INT32_MIN without a used offer.
constexpr int32_t good_profit_cents = 500;
int32_t profit_of(const book& b, const flat_histories& h,
                  const std::vector<offer>& offers, int32_t now);

/// A valid ISBN-10 for a catalogue index.
std::string isbn10(uint64_t seed, int index);

/// The Books root's sub-categories, the books' `categories`.
std::vector<int64_t> sub_category_ids();

/// The name of a category of the catalogue (the Books root or one of its
/// sub-categories); "?" for others.
const char* category_name(int64_t id);

/// Entries of the per-type arrays book `index` answers with. Array lengths
/// vary by data age on real Keepa (2025 answers had 34 entries, the enum
/// now has 36); every third book answers with 34 so clients must
/// bounds-check. Types 34 and 35 never hold data here.
inline int types_sent(int index) {
  return index % 3 == 0 ? 34 : n_types;
}

/// The catalogue: books plus ASIN lookup and the seller pool.
struct catalogue {
  uint64_t seed = 1;
  std::vector<book> books;
  std::unordered_map<std::string, int> by_asin;
  std::vector<std::string> sellers;
  std::unordered_map<std::string, int> seller_index;

  /// Books' last updates at the start spread over this many minutes.
  int32_t spread_min = 72 * 60;

  /// Prices in the locale's currency per US cent (1 for amazon.com): the
  /// books' price levels and fees scale by it.
  double price_level = 1.0;

  /// How far back `updated_since` reaches: the feed shows 12 h, so two
  /// days leave room.
  static constexpr int32_t recent_span = 2 * day_min;

  /// (update minute, book) in time order, one entry per update; an entry
  /// is stale once its book was updated again. Lets the feed visit the
  /// recently updated books without walking the whole catalogue.
  std::deque<std::pair<int32_t, int>> recent;

  /// Calls `f(index)` once for every book whose last update is at or after
  /// `since` (at most `recent_span` before the latest update), oldest
  /// first.
  template<class F>
  void updated_since(int32_t since, F f) const {
    auto i = std::lower_bound(recent.begin(), recent.end(),
                              std::pair<int32_t, int>{since, INT32_MIN});
    // The books are scattered over a large heap: ask for them a few
    // entries ahead, so the misses overlap.
    constexpr std::ptrdiff_t ahead = 8;
    auto next = i + std::min(ahead, recent.end() - i);
    for (; i != recent.end(); ++i) {
      if (next != recent.end()) {
        __builtin_prefetch(
          &books[static_cast<size_t>(next->second)].last_update);
        ++next;
      }
      if (books[static_cast<size_t>(i->second)].last_update == i->first)
        f(i->second);
    }
  }

  catalogue(uint64_t seed, int products, double peek_fraction,
            double good_fraction, int32_t spread_min = 72 * 60,
            double price_level = 1.0);

  /// Applies update number `k` at relative minute `now` (a new price point,
  /// maybe a rank drop), keeping the book's class.
  void update(uint64_t k, int32_t now);

  /// Recomputes peek_pass and good for one book from its histories `h`
  /// (as est_sell reads them).
  void classify(int index, int32_t now, const flat_histories& h);

  /// Live offers of a book, cheapest landing price first, deterministic
  /// from seed, book and version; the cheapest used offer's price is the
  /// current USED value.
  std::vector<offer> offers_of(int index) const;

  /// offers_of a book whose current USED value is `used` and NEW `fresh`.
  std::vector<offer> offers_for(int index, int32_t used, int32_t fresh) const;

  /// Working memory of `generate` and `update`, reused from one book to
  /// the next.
  struct scratch {
    flat_histories csv;
    std::vector<int32_t> times;
    std::vector<size_t> recent;
    std::vector<bool> drop;
  };

  /// update's working memory.
  scratch update_tmp;

  /// Generates book `index` with its `asin` (all attempts are
  /// deterministic; books may be generated concurrently).
  void generate(int index, std::string asin, klass target, scratch& tmp);

  /// The next sales rank after `level`: a sale lowers it (a drop), else
  /// it rises, faster when below the book's base.
  static double next_rank(const book& b, double level, bool sale, rng& r);

  /// Draws the current used price for a book's class.
  int32_t draw_buy(const book& b, rng& r) const;
};

} // namespace keepa::sim::detail
