// Amazon locales (config/locale.hpp): Keepa's domain ids, the codes users
// type and the links a deal record shows.

#include "config/locale.hpp"

#include <catch2/catch.hpp>

using namespace keepa;

TEST_CASE("locales follow Keepa's domain ids", "[locale]") {
  REQUIRE(locale_of(1)->code == "us");
  REQUIRE(locale_of(2)->currency == "GBP");
  REQUIRE(locale_of(3)->amazon_host == "www.amazon.de");
  REQUIRE(locale_of(12)->currency == "BRL");
  CHECK_FALSE(locale_of(0));
  CHECK_FALSE(locale_of(7));
  CHECK_FALSE(locale_of(13));
  CHECK(locales().size() == 11);
}

TEST_CASE("a locale is named by its code or its domain id", "[locale]") {
  CHECK(parse_locale("uk")->domain == 2);
  CHECK(parse_locale("DE")->domain == 3);
  CHECK(parse_locale("1")->code == "us");
  CHECK_FALSE(parse_locale(""));
  CHECK_FALSE(parse_locale("7"));
  CHECK_FALSE(parse_locale("gb"));
  CHECK_FALSE(parse_locale("99999999999"));
}

TEST_CASE("a deal links to Amazon and Keepa in its locale", "[locale]") {
  auto uk = *locale_of(2);
  CHECK(amazon_product_url(uk, "0451526538")
        == "https://www.amazon.co.uk/dp/0451526538");
  CHECK(keepa_product_url(uk, "0451526538")
        == "https://keepa.com/#!product/2-0451526538");
}
