#include "actors/stages/feed_slices.hpp"

#include <algorithm>
#include <cstdint>
#include <iterator>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "messages/error.hpp"

namespace keepa {

namespace {

/// The range fields of a selection other than currentRange.
const char* const other_ranges[] = {"deltaRange", "deltaPercentRange",
                                    "deltaLastRange", "salesRankRange"};

} // namespace

caf::expected<feed_slices>
feed_slices::make(const std::string& selection,
                  const std::vector<int64_t>& bounds) {
  auto bad = [](std::string what) {
    return caf::make_error(ec::invalid_config, std::move(what));
  };
  rapidjson::Document doc;
  doc.Parse(selection.data(), selection.size());
  if (doc.HasParseError() || !doc.IsObject())
    return bad("the deal query is not a JSON object");
  feed_slices out;
  out.base_ = selection;
  if (doc.HasMember("priceTypes") && doc["priceTypes"].IsArray()
      && doc["priceTypes"].Size() == 1 && doc["priceTypes"][0].IsInt())
    out.price_type_ = doc["priceTypes"][0].GetInt();
  else if (!bounds.empty())
    return bad("price bands need priceTypes with one price type");
  band whole;
  auto enabled = doc.HasMember("isRangeEnabled")
    && doc["isRangeEnabled"].IsBool() && doc["isRangeEnabled"].GetBool();
  if (enabled && doc.HasMember("currentRange") && doc["currentRange"].IsArray()
      && doc["currentRange"].Size() == 2 && doc["currentRange"][0].IsInt64()
      && doc["currentRange"][1].IsInt64()) {
    whole.lo = std::max<int64_t>(0, doc["currentRange"][0].GetInt64());
    whole.hi = doc["currentRange"][1].GetInt64();
  }
  for (size_t i = 0; i < bounds.size(); ++i)
    if (bounds[i] <= 0 || (i > 0 && bounds[i] <= bounds[i - 1]))
      return bad("keepa.scan.price-bands must be ascending cents > 0");
  out.bands_.push_back(whole);
  for (auto b : bounds) {
    auto& last = out.bands_.back();
    if (b <= last.lo || (last.hi >= 0 && b > last.hi))
      continue; // outside the query's own range
    band upper{b, last.hi};
    last.hi = b - 1;
    out.bands_.push_back(upper);
  }
  out.whole_ = out.bands_.size() == 1;
  return out;
}

bool feed_slices::split(size_t i, std::vector<int64_t> prices, size_t max,
                        size_t parts) {
  if (i >= bands_.size() || bands_.size() >= max || price_type_ < 0)
    return false;
  parts = std::min(std::max<size_t>(parts, 2), max - bands_.size() + 1);
  auto b = bands_[i];
  prices.erase(std::remove_if(prices.begin(), prices.end(),
                              [&](int64_t p) {
                                return p < b.lo || (b.hi >= 0 && p > b.hi);
                              }),
               prices.end());
  if (prices.empty())
    return false;
  std::sort(prices.begin(), prices.end());
  // Each new band starts at a quantile, above the band's lowest price and
  // above the previous start (equal prices cannot be told apart).
  std::vector<int64_t> starts;
  auto prev = b.lo;
  for (size_t k = 1; k < parts; ++k) {
    auto at = prices[prices.size() * k / parts];
    at = std::max(at, prev + 1);
    if (b.hi >= 0 && at > b.hi)
      break;
    starts.push_back(at);
    prev = at;
  }
  if (starts.empty())
    return false;
  std::vector<band> xs;
  auto lo = b.lo;
  for (auto at : starts) {
    xs.push_back(band{lo, at - 1});
    lo = at;
  }
  xs.push_back(band{lo, b.hi});
  bands_.erase(bands_.begin() + static_cast<ptrdiff_t>(i));
  bands_.insert(bands_.begin() + static_cast<ptrdiff_t>(i), xs.begin(),
                xs.end());
  whole_ = false;
  return true;
}

std::string feed_slices::selection(size_t i) const {
  if (whole_ || i >= bands_.size())
    return base_;
  rapidjson::Document doc;
  doc.Parse(base_.data(), base_.size());
  auto& a = doc.GetAllocator();
  auto enabled = doc.HasMember("isRangeEnabled")
    && doc["isRangeEnabled"].IsBool() && doc["isRangeEnabled"].GetBool();
  // Ranges the query wrote but did not enable must stay off.
  if (!enabled)
    for (auto name : other_ranges)
      doc.RemoveMember(name);
  doc.RemoveMember("isRangeEnabled");
  doc.AddMember("isRangeEnabled", true, a);
  doc.RemoveMember("currentRange");
  rapidjson::Value range{rapidjson::kArrayType};
  range.PushBack(bands_[i].lo, a);
  // No upper bound: Keepa's INT_MAX.
  range.PushBack(bands_[i].hi >= 0 ? bands_[i].hi : int64_t{INT32_MAX}, a);
  doc.AddMember("currentRange", range, a);
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  doc.Accept(w);
  return buf.GetString();
}

std::string feed_slices::to_string() const {
  std::string out;
  for (auto& b : bands_) {
    if (!out.empty())
      out += ',';
    out += std::to_string(b.lo) + '-';
    if (b.hi >= 0)
      out += std::to_string(b.hi);
  }
  return out;
}

} // namespace keepa
