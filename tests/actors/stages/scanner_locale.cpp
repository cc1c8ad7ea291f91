// The pipeline's locale (issue 22): keepa.locale sets the deal query's and
// the Product Finder query's domain; a query file's own domainId that says
// otherwise is a start error, not silently overridden.

#include <string>

#include <catch2/catch.hpp>

#include <caf/settings.hpp>

#include <rapidjson/document.h>

#include "actors/stages/scanner.hpp"
#include "messages/error.hpp"
#include "tests/support/scratch_dir.hpp"

using namespace keepa;

namespace {

int domain_id_of(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  REQUIRE(doc.IsObject());
  REQUIRE(doc.HasMember("domainId"));
  return doc["domainId"].GetInt();
}

constexpr const char* uk_books
  = R"({"priceTypes": [2], "dateRange": 0, "sortType": 1, "page": 0,)"
    R"( "isFilterEnabled": true, "includeCategories": [266239]})";

} // namespace

TEST_CASE("keepa.locale sets the /deal selection's and /query's domain",
          "[scanner][locale]") {
  test::scratch_dir dir{"keepa-scanner-locale"};
  caf::settings opts;
  caf::put(opts, "keepa.scan.query-file", dir.file("uk.json", uk_books));
  caf::put(opts, "keepa.scan.source", "both");
  caf::put(opts, "keepa.scan.finder-query-file",
           dir.file("finder.json", R"({"rootCategory": [266239]})"));
  SECTION("uk: domainId 2 in the selection, domain 2 for both queries") {
    caf::put(opts, "keepa.locale", "uk");
    auto cfg = scanner_config_from(opts);
    REQUIRE(cfg);
    CHECK(cfg->domain == 2);
    CHECK(domain_id_of(cfg->selection) == 2);
    REQUIRE(cfg->slices.size() > 0);
    for (size_t i = 0; i < cfg->slices.size(); ++i)
      CHECK(domain_id_of(cfg->slices.selection(i)) == 2);
  }
  SECTION("a domain id works as well as a code") {
    caf::put(opts, "keepa.locale", "3");
    auto cfg = scanner_config_from(opts);
    REQUIRE(cfg);
    CHECK(cfg->domain == 3);
    CHECK(domain_id_of(cfg->selection) == 3);
  }
  SECTION("without the option a query's domainId chooses, else us") {
    auto cfg = scanner_config_from(opts);
    REQUIRE(cfg);
    CHECK(cfg->domain == 1);
    CHECK(domain_id_of(cfg->selection) == 1);
    caf::put(opts, "keepa.scan.query-file",
             dir.file("de.json", R"({"domainId": 3, "page": 0})"));
    cfg = scanner_config_from(opts);
    REQUIRE(cfg);
    CHECK(cfg->domain == 3);
  }
  SECTION("a query's domainId that contradicts the option is refused") {
    caf::put(opts, "keepa.locale", "uk");
    caf::put(opts, "keepa.scan.query-file",
             dir.file("us.json", R"({"domainId": 1, "page": 0})"));
    auto cfg = scanner_config_from(opts);
    REQUIRE_FALSE(cfg);
    CHECK(cfg.error() == ec::invalid_config);
    CHECK_THAT(render(cfg.error()),
               Catch::Contains("domainId 1")
                 && Catch::Contains("keepa.locale=uk"));
    caf::put(opts, "keepa.scan.query-file", dir.file("uk.json", uk_books));
    caf::put(opts, "keepa.scan.finder-query-file",
             dir.file("finder-de.json", R"({"domainId": 3})"));
    cfg = scanner_config_from(opts);
    REQUIRE_FALSE(cfg);
    CHECK_THAT(render(cfg.error()), Catch::Contains("domainId 3"));
  }
  SECTION("an unknown locale is refused with the known ones") {
    caf::put(opts, "keepa.locale", "xx");
    auto cfg = scanner_config_from(opts);
    REQUIRE_FALSE(cfg);
    CHECK_THAT(render(cfg.error()),
               Catch::Contains("keepa.locale") && Catch::Contains("uk"));
  }
}
