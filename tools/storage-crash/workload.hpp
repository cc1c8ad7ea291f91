// The crash test's workload, shared by the child (keepa-storage-crash) and
// the checking test: batch `minute` holds 100 feed positions at that Keepa
// minute; every fifth is a rejection, the rest are deals.

#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "messages/storage.hpp"

namespace keepa::crash {

constexpr int positions_per_batch = 100;
constexpr int batches_per_window = 4;

inline std::string asin_of(int32_t minute, int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "K%09d",
                static_cast<int>(minute * positions_per_batch + i));
  return buf;
}

inline std::vector<feed_position> positions_of(int32_t minute) {
  std::vector<feed_position> result;
  for (int i = 0; i < positions_per_batch; ++i)
    result.push_back(feed_position{minute, asin_of(minute, i)});
  return result;
}

inline bool is_rejection(int i) {
  return i % 5 == 4;
}

inline upsert_batch batch_of(int32_t minute, int64_t now_ms) {
  upsert_batch result;
  for (int i = 0; i < positions_per_batch; ++i) {
    auto asin = asin_of(minute, i);
    if (is_rejection(i)) {
      rejection_record r;
      r.asin = asin;
      r.where = stage::peek;
      r.reason = "crash-test";
      r.price_seen = 1000 + i;
      r.at_ms = now_ms;
      result.rejections.push_back(std::move(r));
    } else {
      deal_record d;
      d.asin = asin;
      d.title = "Crash test book " + asin + std::string(200, '.');
      d.buy_price = 100 + i;
      d.est_sell_price = 2000;
      d.last_update = minute;
      d.first_seen_ms = now_ms;
      d.last_seen_ms = now_ms;
      result.deals.push_back(std::move(d));
    }
  }
  result.done = positions_of(minute);
  return result;
}

} // namespace keepa::crash
