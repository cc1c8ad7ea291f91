#include "actors/client/request.hpp"

#include <initializer_list>
#include <utility>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "messages/error.hpp"
#include "messages/keepa.hpp"

namespace keepa {

namespace {

std::string join(const std::vector<std::string>& xs) {
  std::string result;
  for (auto& x : xs) {
    if (!result.empty())
      result += ',';
    result += x;
  }
  return result;
}

} // namespace

http_request to_request(const product_query& q) {
  http_request r;
  r.path = "/product";
  r.query.emplace_back("domain", std::to_string(q.domain));
  r.query.emplace_back("asin", join(q.asins));
  if (!q.stats.empty())
    r.query.emplace_back("stats", q.stats);
  if (!q.history)
    r.query.emplace_back("history", "0");
  if (q.days > 0)
    r.query.emplace_back("days", std::to_string(q.days));
  // offers=0 is refused by Keepa: omit the parameter instead.
  if (q.offers > 0)
    r.query.emplace_back("offers", std::to_string(q.offers));
  if (q.only_live_offers)
    r.query.emplace_back("only-live-offers", "1");
  if (q.rating)
    r.query.emplace_back("rating", "1");
  if (q.buybox)
    r.query.emplace_back("buybox", "1");
  if (q.stock)
    r.query.emplace_back("stock", "1");
  if (q.update)
    r.query.emplace_back("update", std::to_string(*q.update));
  return r;
}

namespace {

/// `selection` with the integer fields `fields` set; an error naming
/// `what` when it is not a JSON object.
caf::expected<std::string>
with_fields(const std::string& selection, const char* what,
            std::initializer_list<std::pair<const char*, int32_t>> fields) {
  rapidjson::Document doc;
  doc.Parse(selection.data(), selection.size());
  if (doc.HasParseError() || !doc.IsObject())
    return caf::make_error(ec::invalid_config,
                           std::string{what} + " is not a JSON object");
  for (auto& [name, value] : fields) {
    auto i = doc.FindMember(name);
    if (i != doc.MemberEnd())
      i->value.SetInt(value);
    else
      doc.AddMember(rapidjson::StringRef(name), rapidjson::Value{value},
                    doc.GetAllocator());
  }
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> writer{buf};
  doc.Accept(writer);
  return std::string{buf.GetString(), buf.GetSize()};
}

} // namespace

caf::expected<http_request> to_request(const deal_query& q) {
  auto body = with_fields(q.selection, "the deal selection",
                          {{"page", q.page}, {"sortType", q.sort_type}});
  if (!body)
    return std::move(body.error());
  http_request r;
  r.method = "POST";
  r.path = "/deal";
  r.body = std::move(*body);
  return r;
}

caf::expected<http_request> to_request(const finder_query& q) {
  if (q.per_page < 50 || q.per_page > 10000)
    return caf::make_error(ec::request_rejected,
                           "a Product Finder page lists 50 to 10000 ASINs");
  auto selection = with_fields(q.selection, "the Product Finder query",
                               {{"page", q.page}, {"perPage", q.per_page}});
  if (!selection)
    return std::move(selection.error());
  http_request r;
  r.path = "/query";
  r.query.emplace_back("domain", std::to_string(q.domain));
  r.query.emplace_back("selection", std::move(*selection));
  return r;
}

http_request to_request(const seller_query& q) {
  http_request r;
  r.path = "/seller";
  r.query.emplace_back("domain", std::to_string(q.domain));
  r.query.emplace_back("seller", join(q.seller_ids));
  if (q.storefront)
    r.query.emplace_back("storefront", "1");
  return r;
}

caf::error check(const product_query& q) {
  if (q.asins.empty() || q.asins.size() > 100)
    return caf::make_error(ec::request_rejected,
                           "a product request needs 1 to 100 ASINs");
  if (q.offers != 0 && (q.offers < 20 || q.offers > 100))
    return caf::make_error(ec::request_rejected,
                           "offers must be 20..100 (or 0 = not sent)");
  return caf::none;
}

} // namespace keepa
