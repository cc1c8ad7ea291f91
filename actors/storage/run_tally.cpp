#include "actors/storage/run_tally.hpp"

#include <algorithm>

#include "actors/analysis/deal_analysis.hpp"
#include "storage/backend.hpp"

namespace keepa {

caf::expected<run_sample> read_run_sample(db::backend& db) {
  auto kept = db.state(run_state_prefix);
  if (!kept)
    return std::move(kept.error());
  auto result = sample_from_state(*kept);
  if (!result)
    return result;
  auto stored = db.deal_count();
  if (!stored)
    return std::move(stored.error());
  result->stored = *stored;
  return result;
}

namespace {

bool starts_with(const std::string& x, const char* prefix) {
  return x.compare(0, std::char_traits<char>::length(prefix), prefix) == 0;
}

} // namespace

run_tally::run_tally(run_sample before, caf::actor_clock::time_point start)
  : before_(std::move(before)), start_(start) {
  // nop
}

void run_tally::tracked(const std::vector<feed_position>& xs) {
  now_.feed_items += xs.size();
  for (auto& x : xs) {
    if (x.last_update <= 0)
      continue;
    if (now_.feed_first <= 0 || x.last_update < now_.feed_first)
      now_.feed_first = x.last_update;
    now_.feed_last = std::max(now_.feed_last, x.last_update);
  }
}

void run_tally::stored(const upsert_batch& batch) {
  for (auto& x : batch.deals)
    if (x.written_by == write_stage::commit) {
      ++now_.peeks;
      ++now_.passes;
      ++now_.commits;
    }
  for (auto& x : batch.rejections) {
    if (x.where == stage::peek
        && !starts_with(x.reason, to_string(rejection_reason::below_value_bar))
        && !starts_with(x.reason, to_string(rejection_reason::peek_failed))) {
      ++now_.peeks;
    } else if (x.where == stage::commit
               && !starts_with(x.reason,
                               to_string(rejection_reason::commit_failed))) {
      ++now_.peeks;
      ++now_.passes;
    }
  }
}

void run_tally::tokens(const std::vector<int64_t>& consumed_by_stage,
                       int64_t refill_rate) {
  for (size_t i = 0; i < now_.tokens.size() && i < consumed_by_stage.size();
       ++i)
    now_.tokens[i] = consumed_by_stage[i];
  if (refill_rate > 0)
    now_.refill_rate = refill_rate;
}

run_sample run_tally::total(caf::actor_clock::time_point now,
                            uint64_t stored_deals) const {
  auto x = now_;
  x.run_time = now - start_;
  x.stored = stored_deals;
  auto result = before_;
  result += x;
  return result;
}

} // namespace keepa
