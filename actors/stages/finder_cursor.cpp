#include "actors/stages/finder_cursor.hpp"

#include <algorithm>
#include <utility>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "messages/error.hpp"

namespace keepa {

void finder_cursor::start(const feed_position& watermark) {
  floor_ = std::max(watermark.last_update, 0);
}

void finder_cursor::resume(const std::vector<feed_position>& xs) {
  for (auto& x : xs)
    resumed_.insert(x.asin);
}

void finder_cursor::begin_pass(int32_t per_page) {
  per_page_ = std::max(per_page, 1);
  page_ = 0;
  snapshot_ = 0;
  pass_floor_ = floor_;
  seen_.clear();
  fresh_.clear();
}

finder_cursor::page_result
finder_cursor::take_page(std::vector<std::string> asins, int64_t total,
                         int32_t snapshot_minute) {
  page_result r;
  if (page_ == 0)
    snapshot_ = snapshot_minute;
  r.seen = asins.size();
  for (auto& x : asins) {
    if (!seen_.insert(x).second || resumed_.count(x) != 0) {
      ++r.duplicates;
      continue;
    }
    fresh_.push_back(std::move(x));
  }
  r.fresh = r.seen - r.duplicates;
  auto listed = int64_t{page_ + 1} * per_page_;
  auto short_page = asins.size() < static_cast<size_t>(per_page_);
  auto all_read = total >= 0 && listed >= total;
  auto capped = listed + per_page_ > max_results;
  r.last = short_page || all_read || capped;
  r.overflow = r.last && !short_page && !all_read
    && (total < 0 || total > max_results);
  if (!r.last)
    ++page_;
  return r;
}

std::vector<deal> finder_cursor::finish_pass(bool complete, int32_t cap) {
  auto found = std::move(fresh_);
  fresh_.clear();
  seen_.clear();
  if (!complete)
    return {};
  resumed_.clear();
  auto minute = snapshot_ > 0 ? snapshot_ : floor_;
  if (cap > 0 && cap < minute)
    minute = cap;
  if (snapshot_ > floor_)
    floor_ = snapshot_;
  std::sort(found.begin(), found.end());
  std::vector<deal> result;
  result.reserve(found.size());
  for (auto& x : found) {
    deal d;
    d.asin = std::move(x);
    d.last_update = minute;
    result.push_back(std::move(d));
  }
  return result;
}

void finder_cursor::rewind_pass() {
  floor_ = pass_floor_;
}

caf::expected<std::string> finder_selection(const std::string& base,
                                            int32_t floor, int64_t min_price,
                                            int64_t max_price) {
  rapidjson::Document doc;
  doc.Parse(base.data(), base.size());
  if (doc.HasParseError() || !doc.IsObject())
    return caf::make_error(ec::invalid_config,
                           "the Product Finder query is not a JSON object");
  auto& alloc = doc.GetAllocator();
  auto put = [&](const char* name, rapidjson::Value v, bool replace) {
    auto i = doc.FindMember(name);
    if (i == doc.MemberEnd())
      doc.AddMember(rapidjson::StringRef(name), v, alloc);
    else if (replace)
      i->value = v;
  };
  if (floor > 0)
    put("lastUpdate_gte", rapidjson::Value{floor}, true);
  rapidjson::Value key{rapidjson::kArrayType};
  key.PushBack("lastUpdate", alloc).PushBack("desc", alloc);
  rapidjson::Value sort{rapidjson::kArrayType};
  sort.PushBack(key, alloc);
  put("sort", std::move(sort), true);
  if (min_price > 0)
    put("current_USED_gte", rapidjson::Value{min_price}, false);
  if (max_price > 0)
    put("current_USED_lte", rapidjson::Value{max_price}, false);
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> writer{buf};
  doc.Accept(writer);
  return std::string{buf.GetString(), buf.GetSize()};
}

} // namespace keepa
