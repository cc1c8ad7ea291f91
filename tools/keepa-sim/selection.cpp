// Parsing the /deal selection. The checks run in a fixed order and the
// first error found is the one reported, except where a later check says
// it replaces it: clients see the same message for the same selection.

#include "tools/keepa-sim/selection.hpp"

#include <algorithm>
#include <cctype>
#include <climits>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace keepa::sim::feed {

namespace {

/// The fields keepa-sim filters or orders on.
const char* const honoured[] = {"page",
                                "domainId",
                                "priceTypes",
                                "dateRange",
                                "sortType",
                                "isFilterEnabled",
                                "isRangeEnabled",
                                "includeCategories",
                                "excludeCategories",
                                "currentRange",
                                "deltaRange",
                                "deltaPercentRange",
                                "deltaLastRange",
                                "salesRankRange",
                                "minRating",
                                "titleSearch",
                                "hasReviews",
                                "mustHaveAmazonOffer",
                                "mustNotHaveAmazonOffer"};

/// Known to Keepa; keepa-sim accepts them but does not filter on them
/// (books have no variations, no lightning or warehouse deals here).
const char* const accepted[] = {"isLowest",
                                "isLowest90",
                                "isLowestOffer",
                                "isHighest",
                                "isOutOfStock",
                                "isBackInStock",
                                "filterErotic",
                                "singleVariation",
                                "isRisers",
                                "isPrimeExclusive",
                                "warehouseConditions",
                                "brand",
                                "binding",
                                "productGroup",
                                "author",
                                "format",
                                "manufacturer",
                                "languages",
                                "material",
                                "type",
                                "color",
                                "size",
                                "partNumber",
                                "model",
                                "unitType",
                                "scent",
                                "itemForm",
                                "pattern",
                                "style",
                                "itemTypeKeyword",
                                "targetAudienceKeyword",
                                "edition",
                                "brandStoreName",
                                "brandStoreUrlName",
                                "websiteDisplayGroup",
                                "websiteDisplayGroupName",
                                "salesRankDisplayGroup"};

} // namespace

std::string parse_object(const std::string& text, rapidjson::Document& d) {
  // Iterative parsing: a deeply nested body cannot exhaust the stack.
  d.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (d.HasParseError())
    return "not valid JSON (offset " + std::to_string(d.GetErrorOffset()) + ")";
  if (!d.IsObject())
    return "not a JSON object";
  return {};
}

bool as_int(const rapidjson::Value& v, bool strict, int64_t& x) {
  if (v.IsInt64()) {
    x = v.GetInt64();
    return true;
  }
  if (strict || !v.IsString())
    return false;
  std::string s = v.GetString();
  if (s.empty() || s.size() > 18)
    return false;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size())
    return false;
  for (size_t k = i; k < s.size(); ++k)
    if (!std::isdigit(static_cast<unsigned char>(s[k])))
      return false;
  x = std::stoll(s);
  return true;
}

namespace {

template<size_t N>
bool listed(const char* const (&names)[N], const std::string& name) {
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

/// Reads the fields of a parsed selection; `err` keeps the first error.
class reader {
public:
  reader(const rapidjson::Document& d, bool strict) : d_(d), strict_(strict) {
    // nop
  }

  /// The first error, or "".
  std::string err;

  /// Reads an integer field; true when present and the selection is still
  /// valid. A `required` field that is absent is an error, a null one
  /// invalid.
  bool get_int(const char* name, int64_t& x, bool required) {
    auto i = d_.FindMember(name);
    if (i == d_.MemberEnd() || (i->value.IsNull() && !required)) {
      if (required && err.empty())
        err = std::string{"missing "} + name;
      return false;
    }
    if (!as_int(i->value, x) && err.empty())
      err = std::string{"invalid "} + name;
    return err.empty();
  }

  /// Reads a boolean field, leaving `x` as it is when absent or null.
  void get_bool(const char* name, bool& x) {
    auto i = d_.FindMember(name);
    if (i == d_.MemberEnd() || i->value.IsNull())
      return;
    if (i->value.IsBool()) {
      x = i->value.GetBool();
      return;
    }
    if (!strict_ && i->value.IsString()) {
      std::string s = i->value.GetString();
      if (s == "true" || s == "false") {
        x = s == "true";
        return;
      }
    }
    if (err.empty())
      err = std::string{"invalid "} + name;
  }

  /// Appends the integers of an array field to `xs`.
  void get_list(const char* name, std::vector<int64_t>& xs) {
    auto i = d_.FindMember(name);
    if (i == d_.MemberEnd() || i->value.IsNull())
      return;
    if (!i->value.IsArray()) {
      if (err.empty())
        err = std::string{"invalid "} + name;
      return;
    }
    for (auto& e : i->value.GetArray()) {
      int64_t x;
      if (!as_int(e, x)) {
        if (err.empty())
          err = std::string{"invalid "} + name;
        return;
      }
      xs.push_back(x);
    }
  }

  /// Reads a [min, max] field; a negative max means no upper bound.
  void get_range(const char* name, range& r) {
    std::vector<int64_t> xs;
    get_list(name, xs);
    if (!err.empty() || d_.FindMember(name) == d_.MemberEnd()
        || d_[name].IsNull())
      return;
    if (xs.size() != 2) {
      err = std::string{"invalid "} + name + " (need [min, max])";
      return;
    }
    r.on = true;
    r.lo = xs[0];
    r.hi = xs[1] < 0 ? INT64_MAX : xs[1];
  }

  /// The field `name`: false when absent or null, else `v` points to it.
  bool get_value(const char* name, const rapidjson::Value*& v) const {
    auto i = d_.FindMember(name);
    if (i == d_.MemberEnd() || i->value.IsNull())
      return false;
    v = &i->value;
    return true;
  }

private:
  bool as_int(const rapidjson::Value& v, int64_t& x) const {
    return feed::as_int(v, strict_, x);
  }

  const rapidjson::Document& d_;
  bool strict_;
};

/// Domain, price type, page, date range and order.
void read_query(reader& in, selection& out) {
  int64_t x = 0;
  in.get_int("domainId", out.domain, true);
  if (in.err.empty()
      && !(out.domain >= 1 && out.domain <= 12 && out.domain != 7))
    in.err = "invalid domainId";
  std::vector<int64_t> types;
  // The Python client's default is `"priceTypes": 0`, a number.
  const rapidjson::Value* v = nullptr;
  if (in.get_value("priceTypes", v) && !v->IsArray()) {
    if (in.get_int("priceTypes", x, false))
      types.push_back(x);
  } else {
    in.get_list("priceTypes", types);
  }
  if (in.err.empty()) {
    static const int allowed[] = {0,  1,  2,  3,  5,  6,  7,  8, 9,
                                  10, 18, 19, 20, 21, 22, 32, 33};
    if (types.size() != 1
        || std::find(std::begin(allowed), std::end(allowed), types[0])
          == std::end(allowed))
      in.err = "priceTypes must hold exactly one deal price type";
    else
      out.price_type = static_cast<int>(types[0]);
  }
  if (in.get_int("page", x, false)) {
    if (x < 0)
      in.err = "invalid page";
    out.page = x;
  }
  if (in.get_int("dateRange", x, false)) {
    // dateRange 4 is undocumented (the seeds called it "all combined");
    // it is accepted and reads the widest range, 90 days.
    if (x < 0 || x > 4)
      in.err = "invalid dateRange";
    out.date_range = static_cast<int>(std::min<int64_t>(x, 3));
  }
  if (in.get_int("sortType", x, false)) {
    if (x < -4 || x > 4)
      in.err = "invalid sortType";
    // sortType 1 (deal age) is not invertible.
    out.sort_type = static_cast<int>(x == -1 ? 1 : x);
  }
}

/// The filters: categories, ranges, rating, reviews, Amazon offers, and
/// the accepted flags (which must still be booleans).
void read_filters(reader& in, selection& out) {
  in.get_bool("isFilterEnabled", out.filter_enabled);
  in.get_bool("isRangeEnabled", out.range_enabled);
  in.get_list("includeCategories", out.include);
  in.get_list("excludeCategories", out.exclude);
  // Replaces an earlier error.
  if (out.include.size() > 500 || out.exclude.size() > 500)
    in.err = "at most 500 categories";
  in.get_range("currentRange", out.current);
  in.get_range("deltaRange", out.delta);
  in.get_range("deltaPercentRange", out.delta_percent);
  in.get_range("deltaLastRange", out.delta_last);
  in.get_range("salesRankRange", out.sales_rank);
  // Keepa's minimum percentage change is 10 (80 for sales rank).
  if (out.delta_percent.on)
    out.delta_percent.lo = std::max<int64_t>(out.delta_percent.lo,
                                             out.price_type == 3 ? 80 : 10);
  int64_t x = 0;
  if (in.get_int("minRating", x, false)) {
    if (x < -1 || x > 50)
      in.err = "invalid minRating";
    out.min_rating = x;
  }
  in.get_bool("hasReviews", out.has_reviews);
  in.get_bool("mustHaveAmazonOffer", out.must_have_amazon);
  in.get_bool("mustNotHaveAmazonOffer", out.must_not_have_amazon);
  bool ignored = false;
  const rapidjson::Value* v = nullptr;
  for (auto name : accepted)
    if (in.get_value(name, v) && v->IsBool())
      in.get_bool(name, ignored);
}

/// titleSearch: lowercase keywords, at most 50; its errors replace
/// earlier ones.
void read_title(reader& in, selection& out) {
  const rapidjson::Value* v = nullptr;
  if (!in.get_value("titleSearch", v))
    return;
  if (!v->IsString()) {
    in.err = "invalid titleSearch";
    return;
  }
  std::string word;
  for (auto c : std::string{v->GetString()} + " ") {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!word.empty())
        out.title_words.push_back(word);
      word.clear();
    } else {
      word.push_back(
        static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  if (out.title_words.size() > 50)
    in.err = "titleSearch: at most 50 keywords";
}

} // namespace

std::string parse_selection(const std::string& text, bool strict,
                            selection& out, std::string& cache_key) {
  rapidjson::Document d;
  if (auto err = parse_object(text, d); !err.empty())
    return err;
  for (auto& m : d.GetObject()) {
    std::string name = m.name.GetString();
    if (strict && !listed(honoured, name) && !listed(accepted, name))
      return "unknown field " + name;
  }
  reader in{d, strict};
  read_query(in, out);
  read_filters(in, out);
  read_title(in, out);
  if (!in.err.empty())
    return in.err;
  d.RemoveMember("page");
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  d.Accept(w);
  cache_key = buf.GetString();
  return {};
}

} // namespace keepa::sim::feed
