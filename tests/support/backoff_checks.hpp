// What "backing off after 429s" means, checked on the times the requests
// went out (issue 16, item 5): never two requests within one refill step
// (`min_gap`: the shortest step a test's phase allows), each wait at least
// as long as the one before, and none longer than the bound plus a step.

#pragma once

#include <chrono>
#include <vector>

#include <catch2/catch.hpp>

#include "config/defaults.hpp"

namespace keepa::test {

template<class TimePoint>
void check_backoff(const std::vector<TimePoint>& sent,
                   typename TimePoint::duration min_gap) {
  auto longest = typename TimePoint::duration{
    defaults::token::refusal_backoff_max + std::chrono::minutes{1}};
  for (size_t i = 1; i < sent.size(); ++i) {
    INFO("gap " << i);
    CHECK(sent[i] - sent[i - 1] >= min_gap);
    if (i > 1)
      CHECK(sent[i] - sent[i - 1] >= sent[i - 1] - sent[i - 2]);
    CHECK(sent[i] - sent[i - 1] <= longest);
  }
}

} // namespace keepa::test
