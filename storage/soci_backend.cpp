#include "storage/soci_backend.hpp"

#include <algorithm>
#include <chrono>
#include <cctype>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <unordered_map>

#include <caf/error.hpp>

#include "config/locale.hpp"
#include "messages/error.hpp"
#include "messages/token.hpp"
#include "storage/queries.hpp"
#include "storage/schema.hpp"
#include "storage/scope.hpp"
#include "storage/soci.hpp"
#include "storage/text.hpp"

namespace keepa::db {

backend::~backend() {
  // nop
}

// -- URLs ---------------------------------------------------------------------

namespace {

bool starts_with(const std::string& str, const char* prefix) {
  return str.compare(0, std::char_traits<char>::length(prefix), prefix) == 0;
}

caf::error bad_url(const std::string& url, const char* why) {
  auto what = url.empty() ? std::string{why} : redact(url) + ": " + why;
  return caf::make_error(ec::invalid_config, "keepa.storage.url", what);
}

} // namespace

std::string redact(const std::string& url) {
  // user:password@host in URIs, password=... in keyword strings.
  static const std::regex uri_pw{R"(://([^:/@]*):[^@/]*@)"};
  static const std::regex kw_pw{R"(password\s*=\s*('[^']*'|\S*))",
                                std::regex::icase};
  auto result = std::regex_replace(url, uri_pw, "://$1:***@");
  return std::regex_replace(result, kw_pw, "password=***");
}

caf::expected<location> parse_location(const std::string& url) {
  if (url.empty())
    return bad_url(url, "empty");
  if (url.find('\0') != std::string::npos)
    return bad_url(url, "contains a NUL byte");
  if (starts_with(url, "postgresql://") || starts_with(url, "postgres://")) {
    // SOCI takes a URI for keywords (postgresql://u@h:5432/deals asked for
    // a database "deals="), so libpq's own parser turns it into keywords.
    char* why = nullptr;
    std::unique_ptr<PQconninfoOption, void (*)(PQconninfoOption*)> opts{
      PQconninfoParse(url.c_str(), &why), PQconninfoFree};
    if (!opts) {
      std::string text = why != nullptr ? why : "out of memory";
      PQfreemem(why);
      while (!text.empty()
             && std::isspace(static_cast<unsigned char>(text.back())))
        text.pop_back();
      return bad_url(url, text.c_str());
    }
    std::map<std::string, std::string> kw;
    for (auto* o = opts.get(); o->keyword != nullptr; ++o)
      if (o->val != nullptr && *o->val != '\0')
        kw.emplace(o->keyword, o->val);
    std::string target;
    for (auto& [key, val] : kw) {
      if (!target.empty())
        target += ' ';
      target += key + "='";
      for (auto c : val) {
        if (c == '\\' || c == '\'')
          target += '\\';
        target += c;
      }
      target += '\'';
    }
    return location{backend_kind::postgresql, std::move(target)};
  }
  if (starts_with(url, "postgresql:") || starts_with(url, "postgres:")) {
    auto kw = url.substr(url.find(':') + 1);
    if (kw.find('=') == std::string::npos)
      return bad_url(url, "expected libpq keywords like dbname=... host=...");
    return location{backend_kind::postgresql, kw};
  }
  std::string path = url;
  if (starts_with(url, "sqlite://"))
    path = url.substr(9);
  else if (starts_with(url, "sqlite:"))
    path = url.substr(7);
  else if (std::regex_search(url, std::regex{R"(^[A-Za-z][A-Za-z0-9+.-]*://)"}))
    return bad_url(url, "unsupported scheme (use sqlite: or postgresql:)");
  if (path.empty())
    return bad_url(url, "no SQLite file name");
  if (path.find('=') != std::string::npos)
    return bad_url(url, "a SQLite file name must not contain '='");
  return location{backend_kind::sqlite, path};
}

// -- error mapping ------------------------------------------------------------

namespace {

/// Whether `e` means "locked by someone else, try again later".
bool is_busy(const soci::soci_error& e) {
  if (auto sq = dynamic_cast<const soci::sqlite3_soci_error*>(&e)) {
    auto rc = sq->result() & 0xff;
    return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
  }
  if (auto pg = dynamic_cast<const soci::postgresql_soci_error*>(&e)) {
    auto state = pg->sqlstate();
    return state == "40001" || state == "40P01" || state == "55P03";
  }
  return false;
}

/// Whether `e` means "the server is out of reach": a lost connection (class
/// 08), an administrator or crash shutdown (57P01, 57P02), a server still
/// starting (57P03), no free connection slot (53300), or any error after
/// which the session is no longer connected.
bool is_unreachable(const soci::soci_error& e, soci::session& sql) {
  if (dynamic_cast<const soci::sqlite3_soci_error*>(&e))
    return false;
  if (auto pg = dynamic_cast<const soci::postgresql_soci_error*>(&e)) {
    auto state = pg->sqlstate();
    if (state.compare(0, 2, "08") == 0 || state == "57P01" || state == "57P02"
        || state == "57P03" || state == "53300")
      return true;
  }
  try {
    return !sql.is_connected();
  } catch (...) {
    return true;
  }
}

caf::error to_error(const soci::soci_error& e, soci::session& sql,
                    const char* what) {
  auto code = is_busy(e)     ? ec::storage_busy
    : is_unreachable(e, sql) ? ec::storage_unavailable
                             : ec::storage_error;
  return caf::make_error(code, std::string{what},
                         std::string{e.get_error_message()});
}

} // namespace

bool transient(const caf::error& err) {
  return err == ec::storage_busy || err == ec::storage_unavailable;
}

// -- kept statements ----------------------------------------------------------

namespace {

/// The columns of deals besides the key (asin, and from schema 5 on the
/// domain), in the order deal_params::each_value binds them.
std::vector<std::string> deal_values(int32_t version) {
  std::vector<std::string> result{"title"};
  if (version >= 5) {
    result.emplace_back("raw_title");
    result.emplace_back("currency");
  }
  for (auto col :
       {"buy_price", "est_sell_price", "avg365", "all_in_cost", "profit",
        "margin_bp", "roi_bp", "min_listing_price", "sales_rank",
        "rank_drops90", "rank_drops365", "offers_used", "offers_new",
        "last_update", "first_seen_ms", "last_seen_ms", "written_by"})
    result.emplace_back(col);
  return result;
}

/// The columns deal_rows reads, in its order. Before schema 5 every deal
/// is domain 1 in dollars and its title is the raw one.
std::string deal_columns(int32_t version) {
  std::string result = version >= 5 ? "asin, domain, title, raw_title, currency"
                                    : "asin, 1, title, title, 'USD'";
  return result
    + ", buy_price, est_sell_price, avg365, all_in_cost, profit,"
      " margin_bp, roi_bp, min_listing_price, sales_rank, rank_drops90,"
      " rank_drops365, offers_used, offers_new, last_update, first_seen_ms,"
      " last_seen_ms, written_by";
}

/// The key of a deal row in a WHERE clause, binding :domain (schema 5 on)
/// and :asin.
const char* deal_key(int32_t version) {
  return version >= 5 ? "domain = :domain AND asin = :asin" : "asin = :asin";
}

/// One deal's values, which the kept statements read at each execution.
struct deal_params {
  deal_record d;
  long long first_seen_ms = 0;
  long long last_seen_ms = 0;
  std::string written_by;

  void set(const deal_record& x) {
    d = x;
    d.raw_title = x.raw_title.empty() ? x.title : x.raw_title;
    repair_utf8(d.raw_title);
    d.title = clean_title(d.raw_title);
    auto loc = locale_of(x.domain);
    d.currency = loc ? std::string{loc->currency} : unknown_currency;
    first_seen_ms = x.first_seen_ms;
    last_seen_ms = x.last_seen_ms;
    written_by = to_string(x.written_by);
  }

  /// Calls `f(v)` for the values of `deal_values(version)`, in that order.
  template<class F>
  void each_value(F f, int32_t version) {
    f(d.title);
    if (version >= 5) {
      f(d.raw_title);
      f(d.currency);
    }
    for (auto* v : {&d.buy_price, &d.est_sell_price, &d.avg365, &d.all_in_cost,
                    &d.profit, &d.margin_bp, &d.roi_bp, &d.min_listing_price,
                    &d.sales_rank, &d.rank_drops90, &d.rank_drops365,
                    &d.offers_used, &d.offers_new, &d.last_update})
      f(*v);
    f(first_seen_ms);
    f(last_seen_ms);
    f(written_by);
  }
};

/// What a light update tells of a stored deal (a light product: no
/// history, no offers): its buy price with the figures that follow it,
/// sales rank, lastUpdate and when it was seen. The rest of the row stays
/// as the last commit wrote it.
struct light_params {
  int domain = 1;
  std::string asin;
  int buy_price = 0;
  int all_in_cost = 0;
  int profit = 0;
  int margin_bp = 0;
  int roi_bp = 0;
  int sales_rank = 0;
  int last_update = 0;
  long long last_seen_ms = 0;
  std::string written_by;

  void set(const deal_record& x) {
    domain = x.domain;
    asin = x.asin;
    buy_price = x.buy_price;
    all_in_cost = x.all_in_cost;
    profit = x.profit;
    margin_bp = x.margin_bp;
    roi_bp = x.roi_bp;
    sales_rank = x.sales_rank;
    last_update = x.last_update;
    last_seen_ms = x.last_seen_ms;
    written_by = to_string(x.written_by);
  }
};

struct rejection_params {
  std::string asin;
  std::string stage;
  std::string reason;
  int price = 0;
  long long at = 0;
  int retry = 0;

  void set(const rejection_record& x) {
    asin = x.asin;
    stage = to_string(x.where);
    reason = x.reason;
    repair_utf8(reason);
    price = x.price_seen;
    at = x.at_ms;
    retry = x.retry_below;
  }
};

/// Prepares `st` for `query` after `bind(st)` exchanged its elements.
template<class Bind>
void prepare(soci::statement& st, const std::string& query, Bind bind) {
  bind(st);
  st.alloc();
  st.prepare(query);
  st.define_and_bind();
}

write_stage parse_write_stage(const std::string& str) {
  for (auto x :
       {write_stage::commit, write_stage::light_update, write_stage::rescue})
    if (str == to_string(x))
      return x;
  throw std::runtime_error("unknown written_by value: " + str);
}

/// Deal rows as columns, for bulk binding in both directions.
struct deal_rows {
  std::vector<std::string> asin, title, raw_title, currency, written_by;
  std::vector<int> domain, buy_price, est_sell_price, avg365, all_in_cost,
    profit, margin_bp, roi_bp, min_listing_price, sales_rank, rank_drops90,
    rank_drops365, offers_used, offers_new, last_update;
  std::vector<long long> first_seen_ms, last_seen_ms;

  template<class F>
  void each_int(F f) {
    for (auto* v :
         {&buy_price, &est_sell_price, &avg365, &all_in_cost, &profit,
          &margin_bp, &roi_bp, &min_listing_price, &sales_rank, &rank_drops90,
          &rank_drops365, &offers_used, &offers_new, &last_update})
      f(*v);
  }

  void resize(size_t n) {
    asin.resize(n);
    domain.resize(n);
    title.resize(n);
    raw_title.resize(n);
    currency.resize(n);
    written_by.resize(n);
    each_int([n](std::vector<int>& v) { v.resize(n); });
    first_seen_ms.resize(n);
    last_seen_ms.resize(n);
  }

  explicit deal_rows(size_t n) {
    resize(n);
  }

  deal_record at(size_t i) const {
    deal_record x;
    x.asin = asin[i];
    x.domain = domain[i];
    x.title = title[i];
    x.raw_title = raw_title[i];
    x.currency = currency[i];
    x.buy_price = buy_price[i];
    x.est_sell_price = est_sell_price[i];
    x.avg365 = avg365[i];
    x.all_in_cost = all_in_cost[i];
    x.profit = profit[i];
    x.margin_bp = margin_bp[i];
    x.roi_bp = roi_bp[i];
    x.min_listing_price = min_listing_price[i];
    x.sales_rank = sales_rank[i];
    x.rank_drops90 = rank_drops90[i];
    x.rank_drops365 = rank_drops365[i];
    x.offers_used = offers_used[i];
    x.offers_new = offers_new[i];
    x.last_update = last_update[i];
    x.first_seen_ms = first_seen_ms[i];
    x.last_seen_ms = last_seen_ms[i];
    x.written_by = parse_write_stage(written_by[i]);
    return x;
  }

  /// Calls `bind(v)` for all columns in `deal_columns` order. The callback
  /// must exchange `soci::use(v)` itself: a use element refers to its
  /// (unnamed) name argument, which dies with the full expression.
  template<class Bind>
  void bind(Bind bind) {
    bind(asin);
    bind(domain);
    bind(title);
    bind(raw_title);
    bind(currency);
    each_int([&](std::vector<int>& v) { bind(v); });
    bind(first_seen_ms);
    bind(last_seen_ms);
    bind(written_by);
  }
};

std::vector<deal_record> select_deals(soci::session& sql, int32_t version,
                                      const std::string& where, size_t limit,
                                      std::vector<long long> params) {
  std::vector<deal_record> result;
  // One spare row: SOCI 4.0.3's SQLite backend reports no rows when a
  // vector of size 1 gets exactly one.
  deal_rows rows{limit + 1};
  soci::statement st{sql};
  rows.bind([&](auto& v) { st.exchange(soci::into(v)); });
  for (auto& p : params)
    st.exchange(soci::use(p));
  st.alloc();
  st.prepare("SELECT " + deal_columns(version) + " FROM deals " + where);
  st.define_and_bind();
  if (st.execute(true))
    for (size_t i = 0; i < rows.asin.size(); ++i)
      result.push_back(rows.at(i));
  return result;
}

/// stalest(): prepared once, for batches of up to any size (the fetch
/// vectors are sized at each call; one spare row, see select_deals).
struct stalest_query {
  deal_rows rows{1};
  long long before = 0;
  long long n = 0;
  soci::statement st;

  stalest_query(soci::session& sql, int32_t version, int32_t domain) : st(sql) {
    prepare(st,
            "SELECT " + deal_columns(version) + " FROM deals "
              + stalest_where(version, domain),
            [this](soci::statement& x) {
              rows.bind([&x](auto& v) { x.exchange(soci::into(v)); });
              x.exchange(soci::use(before));
              x.exchange(soci::use(n));
            });
  }

  std::vector<deal_record> run(uint32_t limit, int64_t seen_before_ms) {
    rows.resize(size_t{limit} + 1);
    before = seen_before_ms;
    n = limit;
    std::vector<deal_record> result;
    if (st.execute(true))
      for (size_t i = 0; i < rows.asin.size(); ++i)
        result.push_back(rows.at(i));
    return result;
  }
};

/// known() for chunks of `n` ASINs: one statement bound to `in`, fetching
/// into the column vectors (one spare row, see select_deals).
struct known_query {
  std::vector<std::string> in;
  std::vector<std::string> asin;
  std::vector<int> rejected;
  std::vector<int> price;
  std::vector<long long> at;
  std::vector<int> retry;
  /// A deal's sell estimate and all-in cost (-1 for a rejection).
  std::vector<int> sell;
  std::vector<int> all_in;
  soci::statement st;

  /// The domain asked about (schema 5 on).
  int domain;

  known_query(soci::session& sql, size_t n, int32_t version, int32_t domain)
    : in(n), st(sql), domain(domain) {
    resize();
    std::string marks;
    for (size_t i = 0; i < n; ++i)
      marks += (i == 0 ? ":a" : ", :a") + std::to_string(i);
    std::string marks2 = marks;
    for (size_t pos = 0; (pos = marks2.find(":a", pos)) != std::string::npos;)
      marks2.replace(pos, 2, ":b");
    // Schema 4 added retry_below, schema 5 the domain (tests open older
    // schemas).
    std::string retry_below = version >= 4 ? "retry_below" : "-1";
    bool by_domain = version >= 5;
    std::string in_domain = by_domain ? "domain = :da AND " : "";
    std::string in_domain2 = by_domain ? "domain = :db AND " : "";
    // The fourth column holds a deal's profit or a rejection's at_ms (Unix
    // ms, beyond 32 bits). On SQLite, SOCI reads a UNION's column by the
    // declared type of its first SELECT: profit INTEGER cut at_ms to 32
    // bits (every remembered rejection looked decades old, so forgotten).
    // A CAST has no declared type: the values are read as they are.
    prepare(st,
            "SELECT asin, 0, last_update, CAST(profit AS BIGINT), buy_price, "
            "est_sell_price, all_in_cost FROM deals WHERE "
              + in_domain + "asin IN (" + marks
              + ") UNION ALL SELECT asin, 1, price_seen, at_ms, " + retry_below
              + ", -1, -1 FROM rejections WHERE " + in_domain2 + "asin IN ("
              + marks2 + ")",
            [this, by_domain](soci::statement& x) {
              x.exchange(soci::into(asin));
              x.exchange(soci::into(rejected));
              x.exchange(soci::into(price));
              x.exchange(soci::into(at));
              x.exchange(soci::into(retry));
              x.exchange(soci::into(sell));
              x.exchange(soci::into(all_in));
              for (int pass = 0; pass < 2; ++pass) {
                if (by_domain)
                  x.exchange(soci::use(this->domain));
                for (auto& a : in)
                  x.exchange(soci::use(a));
              }
            });
  }

  /// Room for every row: a deal and a rejection per ASIN, plus the spare.
  void resize() {
    auto n = in.size() * 2 + 1;
    for (auto* v : {&asin})
      v->resize(n);
    for (auto* v : {&rejected, &price, &retry, &sell, &all_in})
      v->resize(n);
    at.resize(n);
  }

  /// Runs for `in.size()` ASINs from `first`; false if none is known.
  bool run(std::vector<std::string>::const_iterator first) {
    std::copy(first, first + static_cast<ptrdiff_t>(in.size()), in.begin());
    resize();
    return st.execute(true);
  }
};

/// The statements of the write path, prepared once per connection and
/// executed again with the values their parameter members hold. A new row
/// and an update are separate statements (INSERT ... DO NOTHING, then
/// UPDATE if nothing was inserted), so a commit knows which rows are new
/// on SQLite and PostgreSQL alike.
struct statements {
  deal_params deal;
  rejection_params rejection;
  int last_update = 0;
  std::string asin;
  std::string key;
  std::string value;
  soci::statement begin;
  soci::statement commit;
  soci::statement insert_deal;
  soci::statement update_deal;
  /// A light update of a stored deal (light_params) at the price stored:
  /// the figures stay, and the indexes on them are not touched.
  soci::statement light_same;
  /// ... at another price, with the figures at it.
  soci::statement light_deal;
  light_params light;
  soci::statement insert_rejection;
  soci::statement update_rejection;
  /// The deal row of a rejection that retires it.
  soci::statement retire_deal;
  soci::statement put_state;
  /// A sighted deal: its lastUpdate and when it was seen.
  soci::statement sighted;
  long long seen_ms = 0;
  /// ... and, when it has a buy price, its figures at it.
  soci::statement sighted_price;
  deal_sighting sighting;
  /// Schema 3 added the pending table (tests open older schemas).
  std::optional<soci::statement> track;
  std::optional<soci::statement> done;
  std::optional<soci::statement> below_watermark;
  /// known() by chunk size; a few sizes recur (the scanner's page size).
  std::map<size_t, std::unique_ptr<known_query>> known;
  /// stalest(), prepared at its first use.
  std::unique_ptr<stalest_query> stalest;
  soci::session& sql;
  int32_t version;
  /// The backend's domain: its rejections, tracked positions, sightings
  /// and known() answers (schema 5 on).
  int domain;
  /// The backend's scope: its tracked positions and system_state rows
  /// (schema 6 on; open_options::scope).
  std::string scope;

  /// The known() statement for chunks of `n` ASINs, prepared if need be.
  known_query& known_for(size_t n) {
    auto& ptr = known[n];
    if (!ptr) {
      if (known.size() > 8) {
        // Sizes that do not recur: keep only this one.
        known.clear();
        return known_for(n);
      }
      ptr = std::make_unique<known_query>(sql, n, version, domain);
    }
    return *ptr;
  }

  statements(soci::session& sql, dialect dia, int32_t version, int32_t domain,
             std::string scope)
    : begin(
      sql.prepare << (dia == dialect::sqlite ? "BEGIN IMMEDIATE" : "BEGIN")),
      commit(sql.prepare << "COMMIT"),
      insert_deal(sql),
      update_deal(sql),
      light_same(sql),
      light_deal(sql),
      insert_rejection(sql),
      update_rejection(sql),
      retire_deal(sql),
      put_state(sql),
      sighted(sql),
      sighted_price(sql),
      sql(sql),
      version(version) {
    this->domain = domain;
    this->scope = std::move(scope);
    using soci::use;
    auto bind_value = [](soci::statement& st) {
      return [&st](auto& v) { st.exchange(use(v)); };
    };
    // Schema 5 keys deals, rejections and pending by domain too (tests
    // open older schemas).
    bool by_domain = version >= 5;
    auto key_of = [by_domain](const char* rest) {
      return std::string{by_domain ? "domain, " : ""} + rest;
    };
    auto where_key = std::string{" WHERE "} + deal_key(version);
    std::string cols = key_of("asin");
    std::string marks = by_domain ? ":domain, :asin" : ":asin";
    std::string sets;
    for (auto& col : deal_values(version)) {
      cols += ", " + col;
      marks += ", :" + col;
      if (!sets.empty())
        sets += ", ";
      sets += col + " = ";
      if (col == "first_seen_ms")
        sets += std::string{least(dia)} + "(first_seen_ms, :first_seen_ms)";
      else if (col == "last_seen_ms")
        sets += std::string{greatest(dia)} + "(last_seen_ms, :last_seen_ms)";
      else
        sets += ":" + col;
    }
    prepare(insert_deal,
            "INSERT INTO deals (" + cols + ") VALUES (" + marks
              + ") ON CONFLICT (" + key_of("asin") + ") DO NOTHING",
            [&](soci::statement& st) {
              if (by_domain)
                st.exchange(use(deal.d.domain));
              st.exchange(use(deal.d.asin));
              deal.each_value(bind_value(st), version);
            });
    prepare(update_deal, "UPDATE deals SET " + sets + where_key,
            [&](soci::statement& st) {
              deal.each_value(bind_value(st), version);
              if (by_domain)
                st.exchange(use(deal.d.domain));
              st.exchange(use(deal.d.asin));
            });
    auto light_tail
      = std::string{"sales_rank = :sales_rank,"
                    " last_update = :last_update, last_seen_ms = "}
      + greatest(dia)
      + "(last_seen_ms, :last_seen_ms), written_by = :written_by" + where_key;
    auto bind_light_tail = [&](soci::statement& st) {
      auto& x = light;
      st.exchange(use(x.sales_rank));
      st.exchange(use(x.last_update));
      st.exchange(use(x.last_seen_ms));
      st.exchange(use(x.written_by));
      if (by_domain)
        st.exchange(use(x.domain));
      st.exchange(use(x.asin));
    };
    prepare(light_same,
            "UPDATE deals SET " + light_tail + " AND buy_price = :buy_price",
            [&](soci::statement& st) {
              bind_light_tail(st);
              st.exchange(use(light.buy_price));
            });
    prepare(light_deal,
            "UPDATE deals SET buy_price = :buy_price,"
            " all_in_cost = :all_in_cost, profit = :profit,"
            " margin_bp = :margin_bp, roi_bp = :roi_bp, "
              + light_tail,
            [&](soci::statement& st) {
              auto& x = light;
              for (auto* v : {&x.buy_price, &x.all_in_cost, &x.profit,
                              &x.margin_bp, &x.roi_bp})
                st.exchange(use(*v));
              bind_light_tail(st);
            });
    // Schema 4 added retry_below (tests open older schemas).
    bool has_retry = version >= 4;
    auto opt = [has_retry](const char* text) { return has_retry ? text : ""; };
    // Every value but the key, in column order.
    auto bind_rejection = [&](soci::statement& st) {
      st.exchange(use(rejection.stage));
      st.exchange(use(rejection.reason));
      st.exchange(use(rejection.price));
      st.exchange(use(rejection.at));
      if (has_retry)
        st.exchange(use(rejection.retry));
    };
    auto bind_key = [&](soci::statement& st, std::string& asin) {
      if (by_domain)
        st.exchange(use(this->domain));
      st.exchange(use(asin));
    };
    prepare(insert_rejection,
            "INSERT INTO rejections (" + key_of("asin")
              + ", stage, reason, price_seen, at_ms" + opt(", retry_below")
              + ") VALUES (" + (by_domain ? ":domain, " : "")
              + ":asin, :stage, :reason, :price, :at" + opt(", :retry")
              + ") ON CONFLICT (" + key_of("asin") + ") DO NOTHING",
            [&](soci::statement& st) {
              bind_key(st, rejection.asin);
              bind_rejection(st);
            });
    prepare(update_rejection,
            std::string{"UPDATE rejections SET stage = :stage,"
                        " reason = :reason, price_seen = :price, at_ms = :at"}
              + opt(", retry_below = :retry") + where_key,
            [&](soci::statement& st) {
              bind_rejection(st);
              bind_key(st, rejection.asin);
            });
    prepare(retire_deal, "DELETE FROM deals" + where_key,
            [&](soci::statement& st) { bind_key(st, rejection.asin); });
    // Schema 6 keys pending and system_state by the pipeline's scope too.
    bool by_scope = version >= 6;
    prepare(put_state,
            by_scope
              ? "INSERT INTO system_state (scope, key, value)"
                " VALUES (:s, :k, :v) ON CONFLICT (scope, key)"
                " DO UPDATE SET value = excluded.value"
              : "INSERT INTO system_state (key, value) VALUES (:k, :v)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [&](soci::statement& st) {
              if (by_scope)
                st.exchange(use(this->scope));
              st.exchange(use(key));
              st.exchange(use(value));
            });
    prepare(sighted,
            std::string{"UPDATE deals SET last_update = "} + greatest(dia)
              + "(last_update, :lu), last_seen_ms = " + greatest(dia)
              + "(last_seen_ms, :seen)" + where_key,
            [&](soci::statement& st) {
              st.exchange(use(last_update));
              st.exchange(use(seen_ms));
              bind_key(st, asin);
            });
    // After `sighted`: a row still at the sighting's lastUpdate is not
    // newer than it.
    prepare(sighted_price,
            "UPDATE deals SET buy_price = :b, all_in_cost = :c, profit = :p,"
            " margin_bp = :m, roi_bp = :r"
              + where_key + " AND last_update = :lu",
            [&](soci::statement& st) {
              auto& x = sighting;
              for (auto* v : {&x.buy_price, &x.all_in_cost, &x.profit,
                              &x.margin_bp, &x.roi_bp})
                st.exchange(use(*v));
              bind_key(st, x.asin);
              st.exchange(use(x.last_update));
            });
    if (version < 3)
      return;
    auto in_domain = std::string{by_scope ? "scope = :s AND " : ""}
      + (by_domain ? "domain = :domain AND " : "");
    auto pending_key = std::string{by_scope ? "scope, " : ""}
      + key_of("last_update, asin");
    auto position = [&](std::optional<soci::statement>& st,
                        const std::string& query, int uses_of_last_update) {
      st.emplace(sql);
      prepare(*st, query, [&](soci::statement& x) {
        if (by_scope)
          x.exchange(use(this->scope));
        if (by_domain)
          x.exchange(use(this->domain));
        for (int i = 0; i < uses_of_last_update; ++i)
          x.exchange(use(last_update));
        x.exchange(use(asin));
      });
    };
    position(track,
             "INSERT INTO pending (" + pending_key + ") VALUES ("
               + (by_scope ? ":s, " : "") + (by_domain ? ":domain, " : "")
               + ":lu, :asin) ON CONFLICT (" + pending_key + ") DO NOTHING",
             1);
    position(done,
             std::string{"DELETE FROM pending WHERE "} + in_domain
               + "last_update = :lu AND asin = :asin",
             1);
    position(below_watermark, delete_below_watermark(version), 1);
  }

  /// Runs `st` with the current parameter values; returns the rows changed.
  static uint64_t run(soci::statement& st) {
    st.execute(true);
    return static_cast<uint64_t>(st.get_affected_rows());
  }

  /// Writes system_state's `k` (this scope's row) unless the last value
  /// this connection committed for it is `v` already. Most batches change
  /// two or three of the run counters kept with the watermark, and the
  /// rows are this pipeline's own (its scope).
  void write_state(const std::string& k, const std::string& v) {
    if (auto i = state_written.find(k);
        i != state_written.end() && i->second == v)
      return;
    key = k;
    value = v;
    run(put_state);
    state_writing.emplace_back(k, v);
  }

  /// The transaction that wrote `state_writing` committed.
  void committed() {
    for (auto& [k, v] : state_writing)
      state_written[k] = std::move(v);
    state_writing.clear();
  }

  /// The system_state values this connection committed (dropped with the
  /// statements after a failed transaction: the rows may be anything then).
  std::map<std::string, std::string> state_written;
  /// ... and the ones the open transaction wrote.
  std::vector<std::pair<std::string, std::string>> state_writing;
};

} // namespace

// -- the implementation -------------------------------------------------------

struct soci_backend::impl {
  open_options opts;
  location loc;
  soci::session sql;
  int32_t version = 0;
  std::function<void()> lock_wait;
  std::chrono::steady_clock::time_point wait_start;
  /// keep_state's values not written yet.
  std::vector<std::pair<std::string, std::string>> kept_state;
  /// The write path's statements, prepared at the first write after
  /// connecting (the tables exist by then) and dropped before the session
  /// closes or after a failed transaction.
  std::unique_ptr<statements> kept;

  /// The kept statements, prepared if need be.
  statements& prepared() {
    if (!kept)
      kept = std::make_unique<statements>(sql, dialect(), version, opts.domain,
                                          opts.scope);
    return *kept;
  }

  /// SQLite's busy handler: the busy timeout of `PRAGMA busy_timeout`, plus
  /// telling `lock_wait` when a wait begins.
  static int on_busy(void* ptr, int count) {
    auto self = static_cast<impl*>(ptr);
    auto now = std::chrono::steady_clock::now();
    if (count == 0) {
      self->wait_start = now;
      if (self->lock_wait)
        self->lock_wait();
    }
    if (now - self->wait_start >= self->opts.busy_timeout)
      return 0; // SQLITE_BUSY
    sqlite_api::sqlite3_sleep(count < 10 ? 1 : 10);
    return 1;
  }

  bool sqlite() const {
    return loc.kind == backend_kind::sqlite;
  }

  /// "domain = N AND " for this backend's domain (empty before schema 5).
  std::string in_domain() const {
    return version >= 5 ? "domain = " + std::to_string(opts.domain) + " AND "
                        : std::string{};
  }

  /// " WHERE scope = 'S' AND domain = N": this backend's tracked positions
  /// (no scope before schema 6, no domain before 5; a scope is checked to
  /// hold no quote, see valid_scope).
  std::string where_pending() const {
    std::string result = version >= 6 ? " WHERE scope = '" + opts.scope + "'"
                                      : std::string{};
    if (version >= 5)
      result += (result.empty() ? " WHERE" : " AND") + std::string{" domain = "}
        + std::to_string(opts.domain);
    return result;
  }

  /// " WHERE scope = 'S'" for system_state (empty before schema 6).
  std::string where_scope() const {
    return version >= 6 ? " WHERE scope = '" + opts.scope + "'" : std::string{};
  }

  db::dialect dialect() const {
    return sqlite() ? dialect::sqlite : dialect::postgresql;
  }

  void begin() {
    // BEGIN IMMEDIATE takes SQLite's write lock up front, so the busy
    // timeout applies instead of a deadlock-avoiding SQLITE_BUSY later.
    if (kept) {
      kept->state_writing.clear();
      kept->begin.execute(true);
    } else {
      sql << (sqlite() ? "BEGIN IMMEDIATE" : "BEGIN");
    }
  }

  void commit() {
    if (kept) {
      kept->commit.execute(true);
      kept->committed();
    } else {
      sql << "COMMIT";
    }
  }

  void rollback() noexcept {
    try {
      sql << "ROLLBACK";
    } catch (...) {
      // The transaction is gone already (e.g. the connection failed).
    }
    forget_statements();
  }

  /// Runs `f` in a write transaction, retrying `lock_retries` times while
  /// the database is locked.
  template<class F>
  caf::expected<void> transaction(const char* what, F f) {
    if (opts.read_only)
      return caf::make_error(ec::storage_error, std::string{what},
                             "the database is open read-only");
    for (uint32_t attempt = 0;; ++attempt) {
      try {
        begin();
        f();
        commit();
        return caf::unit;
      } catch (const soci::soci_error& e) {
        rollback();
        if (is_busy(e) && attempt < opts.lock_retries)
          continue;
        if (!is_busy(e))
          return to_error(e, sql, what);
        return caf::make_error(ec::storage_busy, std::string{what},
                               std::string{e.get_error_message()},
                               "still locked after "
                                 + std::to_string(attempt + 1) + " tries");
      } catch (const std::exception& e) {
        rollback();
        return caf::make_error(ec::storage_error, std::string{what},
                               std::string{e.what()});
      }
    }
  }

  /// Drops the kept statements: one that failed may be left in any state,
  /// and the next use prepares them afresh.
  void forget_statements() noexcept {
    try {
      kept.reset();
    } catch (...) {
      // Finalizing on a lost connection; the session goes with reconnect.
    }
  }

  template<class F>
  auto read(const char* what, F f) -> caf::expected<decltype(f())> {
    try {
      return f();
    } catch (const soci::soci_error& e) {
      forget_statements();
      return to_error(e, sql, what);
    } catch (const std::exception& e) {
      forget_statements();
      return caf::make_error(ec::storage_error, std::string{what},
                             std::string{e.what()});
    }
  }

  /// Opens the session and sets it up; throws on failure.
  void connect() {
    if (sqlite() && opts.read_only) {
      // SQLITE_OPEN_READONLY without SQLITE_OPEN_CREATE: a missing file is
      // an error, not a new database. No journal_mode change: that writes.
      if (loc.target.find('"') != std::string::npos)
        throw std::runtime_error("a file name with '\"' cannot be opened"
                                 " read-only");
      sql.open(soci::sqlite3, "db=\"" + loc.target + "\" readonly=true");
      sql << "PRAGMA query_only = 1";
      auto be = static_cast<soci::sqlite3_session_backend*>(sql.get_backend());
      sqlite_api::sqlite3_busy_handler(be->conn_, &impl::on_busy, this);
    } else if (sqlite()) {
      sql.open(soci::sqlite3, loc.target);
      // The busy handler first: switching to WAL waits for another
      // program opening the same file at the same time (issue 22: two
      // pipelines on one file), instead of failing at once.
      auto be = static_cast<soci::sqlite3_session_backend*>(sql.get_backend());
      sqlite_api::sqlite3_busy_handler(be->conn_, &impl::on_busy, this);
      // WAL: readers do not block the writer. synchronous=FULL: every
      // commit is fsync'ed before it returns, so an acknowledged batch
      // survives SIGKILL (which NORMAL would also give us) and power loss
      // or an OS crash (which NORMAL would not).
      std::string mode;
      // SQLite answers the switch "database is locked" at once, without
      // its busy handler, while another connection is opening the same
      // new file (seen with two pipelines started together): try again
      // within the busy timeout.
      auto give_up = std::chrono::steady_clock::now() + opts.busy_timeout;
      for (;;) {
        try {
          sql << "PRAGMA journal_mode=WAL", soci::into(mode);
          break;
        } catch (const soci::soci_error& e) {
          if (!is_busy(e) || std::chrono::steady_clock::now() >= give_up)
            throw;
          sqlite_api::sqlite3_sleep(10);
        }
      }
      if (mode != "wal" && loc.target != ":memory:")
        throw std::runtime_error("cannot enable WAL (journal_mode=" + mode
                                 + ")");
      sql << "PRAGMA synchronous=FULL";
    } else {
      sql.open(soci::postgresql, loc.target);
      sql << "SET lock_timeout = " << opts.busy_timeout.count();
      sql << "SET synchronous_commit = on";
      sql << "SET client_min_messages = warning";
      if (opts.read_only)
        sql << "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY";
    }
  }
};

soci_backend::soci_backend(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {
  // nop
}

soci_backend::~soci_backend() {
  // nop
}

caf::expected<std::unique_ptr<soci_backend>>
soci_backend::open_read_only(std::unique_ptr<impl> ptr) {
  auto where = redact(ptr->opts.url);
  int version = 0;
  soci::indicator ind = soci::i_null;
  try {
    ptr->sql << "SELECT version FROM schema_version WHERE id = 1",
      soci::into(version, ind);
    if (!ptr->sql.got_data() || ind != soci::i_ok)
      version = 0;
  } catch (const soci::soci_error& e) {
    return caf::make_error(ec::storage_error, "cannot read " + where,
                           "no keepa-pipeline database (no schema version)",
                           std::string{e.get_error_message()});
  }
  if (version > current_schema_version)
    return caf::make_error(ec::schema_too_new, where,
                           "database schema version " + std::to_string(version)
                             + ", this program knows up to "
                             + std::to_string(current_schema_version));
  if (version < current_schema_version)
    return caf::make_error(ec::storage_error, "cannot read " + where,
                           "database schema version " + std::to_string(version)
                             + " is older than "
                             + std::to_string(current_schema_version)
                             + ": keepa-pipeline migrates it when it opens it"
                               " (a read-only open never writes)");
  ptr->version = version;
  return std::unique_ptr<soci_backend>{new soci_backend(std::move(ptr))};
}

caf::expected<std::unique_ptr<soci_backend>>
soci_backend::open(const open_options& opts) {
  auto loc = parse_location(opts.url);
  if (!loc)
    return std::move(loc.error());
  if (opts.schema_version < 1 || opts.schema_version > current_schema_version)
    return caf::make_error(ec::invalid_config, "schema version",
                           std::to_string(opts.schema_version));
  auto ptr = std::make_unique<impl>();
  ptr->opts = opts;
  if (auto scope = resolve_scope(opts); !scope)
    return std::move(scope.error());
  else
    ptr->opts.scope = std::move(*scope);
  ptr->loc = std::move(*loc);
  auto where = redact(opts.url);
  try {
    ptr->connect();
  } catch (const std::exception& e) {
    return caf::make_error(ec::storage_error, "cannot open " + where,
                           std::string{e.what()});
  }
  if (opts.read_only)
    return open_read_only(std::move(ptr));
  int32_t found = 0;
  auto res = ptr->transaction("migrate", [&] {
    // Pipelines sharing one PostgreSQL database may start at once: one
    // migrates, the others wait and find the schema current (without the
    // lock two creators of the same table collide, issue 22).
    if (ptr->dialect() == dialect::postgresql)
      ptr->sql << "SELECT pg_advisory_xact_lock(4272022)";
    found = read_schema_version(ptr->sql);
    if (found > current_schema_version)
      return;
    migrate(ptr->sql, ptr->dialect(), found, opts.schema_version);
  });
  if (!res) {
    auto& err = res.error();
    return caf::error{err.code(), err.category(),
                      caf::make_message("cannot open " + where)
                        + err.context()};
  }
  if (found > current_schema_version)
    return caf::make_error(ec::schema_too_new, where,
                           "database schema version " + std::to_string(found)
                             + ", this program knows up to "
                             + std::to_string(current_schema_version));
  ptr->version = std::max(found, opts.schema_version);
  return std::unique_ptr<soci_backend>{new soci_backend(std::move(ptr))};
}

// -- modifiers ----------------------------------------------------------------

caf::expected<commit_result>
soci_backend::commit(const upsert_batch& batch,
                     const std::optional<feed_position>& watermark) {
  commit_result result;
  auto res = impl_->transaction("upsert", [&] {
    result = commit_result{}; // A retried transaction starts over.
    auto& ps = impl_->prepared();
    for (auto& x : batch.deals) {
      // A light update refreshes what it tells of a stored row (a commit
      // may have written the rest since the updater read it), and stores
      // the whole record only if the row went meanwhile (expired). A
      // commit is mostly new: INSERT first.
      if (x.written_by == write_stage::light_update) {
        ps.light.set(x);
        if (statements::run(ps.light_same) > 0
            || statements::run(ps.light_deal) > 0)
          continue;
      }
      ps.deal.set(x);
      if (statements::run(ps.insert_deal) > 0)
        ++result.new_deals;
      else
        statements::run(ps.update_deal);
    }
    for (auto& x : batch.rejections) {
      ps.rejection.set(x);
      if (x.retires)
        result.retired_deals += statements::run(ps.retire_deal);
      if (statements::run(ps.insert_rejection) > 0)
        ++result.new_rejections;
      else
        statements::run(ps.update_rejection);
    }
    for (auto& x : batch.seen) {
      ps.last_update = x.last_update;
      ps.seen_ms = x.seen_ms;
      ps.asin = x.asin;
      statements::run(ps.sighted);
      if (x.buy_price > 0) {
        ps.sighting = x;
        statements::run(ps.sighted_price);
      }
    }
    if (ps.done)
      for (auto& x : batch.done) {
        ps.last_update = x.last_update;
        ps.asin = x.asin;
        statements::run(*ps.done);
      }
    if (watermark && ps.below_watermark) {
      ps.last_update = watermark->last_update;
      ps.asin = watermark->asin;
      statements::run(*ps.below_watermark);
    }
    if (watermark) {
      ps.write_state("watermark.last_update",
                     std::to_string(watermark->last_update));
      ps.write_state("watermark.asin", watermark->asin);
      for (auto& [key, value] : impl_->kept_state)
        ps.write_state(key, value);
    }
  });
  if (!res)
    return std::move(res.error());
  if (watermark)
    impl_->kept_state.clear();
  return result;
}

caf::expected<void> soci_backend::track(const std::vector<feed_position>& xs) {
  if (xs.empty())
    return caf::unit;
  if (impl_->version < 3)
    return caf::make_error(ec::storage_error, "track",
                           "schema version " + std::to_string(impl_->version)
                             + " has no pending table");
  return impl_->transaction("track", [&] {
    auto& ps = impl_->prepared();
    for (auto& x : xs) {
      ps.last_update = x.last_update;
      ps.asin = x.asin;
      statements::run(*ps.track);
    }
  });
}

caf::expected<uint64_t> soci_backend::expire(int64_t cutoff_ms) {
  uint64_t result = 0;
  auto& sql = impl_->sql;
  auto res = impl_->transaction("expire", [&] {
    long long cutoff = cutoff_ms;
    soci::statement st = (sql.prepare
                            << expire_deals(impl_->version, impl_->opts.domain),
                          soci::use(cutoff));
    st.execute(true);
    result = static_cast<uint64_t>(st.get_affected_rows());
  });
  if (!res)
    return std::move(res.error());
  return result;
}

caf::expected<void> soci_backend::reconnect() {
  try {
    // Statements belong to the session they were prepared on.
    impl_->kept.reset();
    impl_->sql.close();
    impl_->connect();
    return caf::unit;
  } catch (const std::exception& e) {
    // A file that cannot be opened again stays so; a server may come back.
    auto code = impl_->sqlite() ? ec::storage_error : ec::storage_unavailable;
    return caf::make_error(code, "reconnect to " + redact(impl_->opts.url),
                           std::string{e.what()});
  }
}

void soci_backend::on_lock_wait(std::function<void()> f) {
  impl_->lock_wait = std::move(f);
}

void soci_backend::keep_state(
  std::vector<std::pair<std::string, std::string>> kvs) {
  impl_->kept_state = std::move(kvs);
}

caf::expected<void> soci_backend::flush() {
  if (!impl_->kept_state.empty()) {
    auto res = impl_->transaction("state", [&] {
      auto& ps = impl_->prepared();
      for (auto& [key, value] : impl_->kept_state)
        ps.write_state(key, value);
    });
    if (!res)
      return res;
    impl_->kept_state.clear();
  }
  return impl_->read("flush", [&] {
    if (impl_->sqlite() && !impl_->opts.read_only) {
      // Every commit is already fsync'ed (synchronous=FULL); checkpointing
      // moves the WAL into the main file and keeps the WAL short.
      int busy = 0, log = 0, done = 0;
      impl_->sql << "PRAGMA wal_checkpoint(PASSIVE)", soci::into(busy),
        soci::into(log), soci::into(done);
    }
    return caf::unit;
  });
}

// -- inspectors ---------------------------------------------------------------

caf::expected<std::vector<asin_memory>>
soci_backend::known(const std::vector<std::string>& asins) {
  return impl_->read("known", [&] {
    std::vector<asin_memory> result;
    std::unordered_map<std::string, asin_memory> found;
    // Chunks keep the number of bound parameters far below SQLite's limit.
    constexpr size_t chunk = 500;
    for (size_t first = 0; first < asins.size(); first += chunk) {
      auto last = std::min(asins.size(), first + chunk);
      auto& q = impl_->prepared().known_for(last - first);
      if (!q.run(asins.begin() + static_cast<ptrdiff_t>(first)))
        continue;
      auto& asin = q.asin;
      auto& rejected = q.rejected;
      auto& price = q.price;
      auto& at = q.at;
      auto& retry = q.retry;
      // Merge the deal and rejection rows of each ASIN.
      for (size_t i = 0; i < asin.size(); ++i) {
        auto& m = found[asin[i]];
        m.asin = asin[i];
        if (rejected[i] != 0) {
          m.rejected = true;
          m.rejected_price = price[i];
          m.rejected_at_ms = at[i];
          m.rejected_retry_below = retry[i];
        } else {
          m.stored = true;
          m.stored_last_update = price[i];
          m.stored_profit = static_cast<int32_t>(at[i]);
          m.stored_buy_price = retry[i];
          m.stored_sell_price = q.sell[i];
          m.stored_all_in_cost = q.all_in[i];
        }
      }
    }
    // In input order, each ASIN once.
    for (auto& x : asins)
      if (auto i = found.find(x); i != found.end() && !i->second.asin.empty()) {
        result.push_back(i->second);
        i->second.asin.clear();
      }
    return result;
  });
}

caf::expected<std::vector<deal_record>>
soci_backend::stalest(uint32_t n, int64_t seen_before_ms) {
  return impl_->read("stalest", [&] {
    if (n == 0)
      return std::vector<deal_record>{};
    auto& ps = impl_->prepared();
    if (!ps.stalest)
      ps.stalest = std::make_unique<stalest_query>(impl_->sql, impl_->version,
                                                   impl_->opts.domain);
    return ps.stalest->run(n, seen_before_ms);
  });
}

caf::expected<std::optional<deal_record>>
soci_backend::find(const std::string& asin) {
  return impl_->read("find", [&]() -> std::optional<deal_record> {
    deal_rows rows{2}; // See select_deals for the spare row.
    std::string key = asin;
    soci::statement st{impl_->sql};
    rows.bind([&](auto& v) { st.exchange(soci::into(v)); });
    st.exchange(soci::use(key));
    st.alloc();
    st.prepare("SELECT " + deal_columns(impl_->version) + " FROM deals WHERE "
               + impl_->in_domain() + "asin = :asin");
    st.define_and_bind();
    if (!st.execute(true) || rows.asin.empty())
      return std::nullopt;
    return rows.at(0);
  });
}

caf::expected<feed_position> soci_backend::watermark() {
  return impl_->read("watermark", [&] {
    feed_position result;
    std::vector<std::string> keys(3), values(3); // A spare row, see above.
    auto scoped = impl_->where_scope();
    impl_->sql << "SELECT key, value FROM system_state"
        + (scoped.empty() ? std::string{" WHERE"} : scoped + " AND")
        + " key IN ('watermark.last_update', 'watermark.asin')",
      soci::into(keys), soci::into(values);
    for (size_t i = 0; i < keys.size(); ++i)
      if (keys[i] == "watermark.asin")
        result.asin = values[i];
      else if (keys[i] == "watermark.last_update")
        result.last_update = std::stoi(values[i]);
    return result;
  });
}

caf::expected<std::vector<feed_position>> soci_backend::pending() {
  return impl_->read("pending", [&] {
    std::vector<feed_position> result;
    if (impl_->version < 3)
      return result;
    soci::rowset<soci::row> rows
      = (impl_->sql.prepare << "SELECT last_update, asin FROM pending"
           + impl_->where_pending() + " ORDER BY last_update, asin");
    for (auto& row : rows)
      result.push_back(feed_position{row.get<int>(0), row.get<std::string>(1)});
    return result;
  });
}

caf::expected<storage_counts> soci_backend::counts() {
  auto wm = watermark();
  if (!wm)
    return std::move(wm.error());
  return impl_->read("counts", [&] {
    storage_counts result;
    long long deals = 0, rejections = 0;
    impl_->sql << "SELECT COUNT(*) FROM deals", soci::into(deals);
    impl_->sql << "SELECT COUNT(*) FROM rejections", soci::into(rejections);
    result.deals = static_cast<uint64_t>(deals);
    result.rejections = static_cast<uint64_t>(rejections);
    result.watermark = std::move(*wm);
    result.schema_version = impl_->version;
    return result;
  });
}

caf::expected<uint64_t> soci_backend::deal_count() {
  return impl_->read("deal count", [&] {
    long long deals = 0;
    impl_->sql << "SELECT COUNT(*) FROM deals", soci::into(deals);
    return static_cast<uint64_t>(deals);
  });
}

namespace {

/// The WHERE clause of `q`'s filters; appends their values to `params`.
/// A filter on another column than the order's is written `+column`, which
/// keeps SQLite from searching by it: without statistics (a reader cannot
/// ANALYZE) it took a range on sales_rank for selective and then sorted
/// every match (170 ms for a filtered first page of 100 000 deals), where
/// walking the order's index and filtering stops after one page. When
/// `counting`, only the domain is searched by (the primary key); a range
/// on a figure's index costs a table lookup per match, more than reading
/// the table (400 ms against 50 ms for 6 000 of 100 000 deals).
/// PostgreSQL reads `+x` as `x` and plans by its own statistics.
std::string listing_filter(const deal_listing& q,
                           std::vector<long long>& params, bool counting) {
  std::string result;
  auto add = [&](const char* column, deal_listing::order own, const char* cond,
                 long long value) {
    result += result.empty() ? "WHERE " : " AND ";
    auto searched = counting ? column == std::string{"domain"} : q.by == own;
    if (!searched)
      result += '+';
    result += column;
    result += cond;
    params.push_back(value);
  };
  // `domain` is no order's first column; `rank` orders by an expression.
  constexpr auto none = static_cast<deal_listing::order>(255);
  if (q.domain)
    add("domain", none, " = :domain", *q.domain);
  if (q.min_roi_bp)
    add("roi_bp", deal_listing::order::roi, " >= :min_roi", *q.min_roi_bp);
  if (q.min_profit)
    add("profit", deal_listing::order::profit, " >= :min_profit",
        *q.min_profit);
  if (q.max_rank)
    add("sales_rank", none, " BETWEEN 1 AND :max_rank", *q.max_rank);
  if (q.seen_since_ms)
    add("last_seen_ms", deal_listing::order::newest, " >= :since",
        *q.seen_since_ms);
  return result;
}

/// The ORDER BY clause of `x`, matching the indexes of schema 5.
const char* listing_order(deal_listing::order x) {
  switch (x) {
    case deal_listing::order::roi: return " ORDER BY roi_bp DESC, domain, asin";
    case deal_listing::order::profit:
      return " ORDER BY profit DESC, domain, asin";
    case deal_listing::order::rank:
      // Known ranks first (a rank <= 0 is unknown), as index deals_rank.
      return " ORDER BY sales_rank <= 0, sales_rank, domain, asin";
    case deal_listing::order::newest:
    default: return " ORDER BY last_seen_ms DESC, domain DESC, asin DESC";
  }
}

} // namespace

const char* to_string(deal_listing::order x) {
  switch (x) {
    case deal_listing::order::roi: return "roi";
    case deal_listing::order::profit: return "profit";
    case deal_listing::order::rank: return "rank";
    case deal_listing::order::newest:
    default: return "newest";
  }
}

std::optional<deal_listing::order> parse_order(const std::string& x) {
  for (auto o : {deal_listing::order::roi, deal_listing::order::profit,
                 deal_listing::order::rank, deal_listing::order::newest})
    if (x == to_string(o))
      return o;
  return std::nullopt;
}

caf::expected<std::vector<deal_record>>
soci_backend::list_deals(const deal_listing& q) {
  return impl_->read("list deals", [&] {
    if (impl_->version < 5)
      throw std::runtime_error("listing needs schema version 5");
    if (q.limit == 0)
      return std::vector<deal_record>{};
    std::vector<long long> params;
    auto query = listing_filter(q, params, false) + listing_order(q.by)
      + " LIMIT :limit OFFSET :offset";
    params.push_back(q.limit);
    params.push_back(q.offset);
    return select_deals(impl_->sql, impl_->version, query, q.limit,
                        std::move(params));
  });
}

caf::expected<uint64_t> soci_backend::count_deals(const deal_listing& q) {
  return impl_->read("count deals", [&] {
    if (impl_->version < 5)
      throw std::runtime_error("listing needs schema version 5");
    std::vector<long long> params;
    long long n = 0;
    soci::statement st{impl_->sql};
    st.exchange(soci::into(n));
    auto filter = listing_filter(q, params, true);
    for (auto& p : params)
      st.exchange(soci::use(p));
    st.alloc();
    st.prepare("SELECT COUNT(*) FROM deals " + filter);
    st.define_and_bind();
    st.execute(true);
    return static_cast<uint64_t>(n);
  });
}

caf::expected<std::vector<std::pair<std::string, std::string>>>
soci_backend::state(const std::string& prefix) {
  return impl_->read("state", [&] {
    std::vector<std::pair<std::string, std::string>> result;
    soci::rowset<soci::row> rows = (impl_->sql.prepare
                                    << "SELECT key, value FROM system_state"
                                      + impl_->where_scope() + " ORDER BY key");
    for (auto& row : rows) {
      auto key = row.get<std::string>(0);
      if (key.compare(0, prefix.size(), prefix) == 0)
        result.emplace_back(std::move(key), row.get<std::string>(1));
    }
    return result;
  });
}

const char* soci_backend::kind() const noexcept {
  return impl_->sqlite() ? "sqlite" : "postgresql";
}

int32_t soci_backend::schema_version() const noexcept {
  return impl_->version;
}

} // namespace keepa::db
