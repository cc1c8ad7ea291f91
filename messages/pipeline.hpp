// Work handed between the pipeline stages:
//
//   SCANNER --offer(vector<deal>)--> PEEK-FILTER --offer(vector<survivor>)-->
//   COMMITTER --upsert--> STORAGE <--upsert-- UPDATER
//
// Candidates are plain `deal`s, oldest first; a deal's feed position is
// (last_update, asin).

#pragma once

#include <cstdint>

#include <caf/meta/type_name.hpp>

#include "messages/fwd.hpp"
#include "messages/keepa.hpp"

namespace keepa {

/// A candidate that passed the peek: its deal and the light product.
struct survivor {
  deal candidate;
  product light;
  /// Buy price and estimated sell price the peek computed, in cents.
  int32_t buy_price = -1;
  int32_t est_sell_price = -1;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, survivor& x) {
  return f(caf::meta::type_name("survivor"), x.candidate, x.light, x.buy_price,
           x.est_sell_price);
}

} // namespace keepa
