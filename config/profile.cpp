#include "config/profile.hpp"

#include <algorithm>
#include <filesystem>
#include <set>

#include <caf/actor_system_config.hpp>
#include <caf/config_value.hpp>
#include <caf/settings.hpp>

#include "messages/error.hpp"

namespace keepa {

namespace {

caf::error invalid(const std::string& origin, const std::string& what) {
  return caf::make_error(ec::invalid_config, origin + ": " + what);
}

} // namespace

caf::error validate(const profile& x) {
  auto origin = "profile " + x.name;
  if (x.name.empty())
    return invalid(origin, "name must not be empty");
  if (x.min_rate < 0)
    return invalid(origin, "min-rate must be >= 0");
  if (x.floor >= 0)
    return invalid(
      origin, "floor must be negative (got " + std::to_string(x.floor) + ")");
  auto check_batch = [&](const char* key, int32_t value,
                         int32_t max) -> caf::error {
    if (value <= 0 || value > max)
      return invalid(origin,
                     std::string{key} + " must be in 1.." + std::to_string(max)
                       + " (got " + std::to_string(value) + ")");
    return caf::none;
  };
  if (auto err = check_batch("scan-pages", x.scan_pages,
                             limits::max_deal_pages))
    return err;
  if (auto err = check_batch("peek-batch", x.peek_batch,
                             limits::max_asins_per_product))
    return err;
  if (auto err = check_batch("commit-batch", x.commit_batch,
                             limits::max_asins_per_product))
    return err;
  if (auto err = check_batch("update-batch", x.update_batch,
                             limits::max_asins_per_product))
    return err;
  if (x.updater_share < 0 || x.updater_share > 0.9)
    return invalid(origin, "updater-share must be in 0..0.9");
  auto check_offers = [&](const char* key, int32_t value) -> caf::error {
    if (value != 0 && (value < 20 || value > 100))
      return invalid(origin,
                     std::string{key} + " must be 0 (omitted) or 20..100 (got "
                       + std::to_string(value) + ")");
    return caf::none;
  };
  if (auto err = check_offers("peek-offers", x.peek_offers))
    return err;
  if (auto err = check_offers("commit-offers", x.commit_offers))
    return err;
  // The committer reads live offers (counts, lowest used price).
  if (x.commit_offers == 0)
    return invalid(origin,
                   "commit-offers must be 20..100: the commit needs "
                   "live offers");
  std::set<stage> seen(x.priority.begin(), x.priority.end());
  if (x.priority.size() != 3 || seen.size() != 3
      || seen.count(stage::update) != 0)
    return invalid(origin,
                   "priority must order commit, peek and scan, "
                   "each once");
  return caf::none;
}

caf::expected<profile> profile_from(const caf::settings& xs,
                                    const std::string& origin) {
  static const std::set<std::string> known{
    "name",          "min-rate",     "floor",         "scan-pages",
    "peek-batch",    "commit-batch", "update-batch",  "priority",
    "updater-share", "peek-offers",  "commit-offers",
  };
  for (auto& kvp : xs) {
    if (kvp.first != "profile")
      return invalid(origin, "unknown section [" + kvp.first + "]");
  }
  auto i_section = xs.find("profile");
  if (i_section == xs.end()
      || !caf::holds_alternative<caf::settings>(i_section->second))
    return invalid(origin, "missing section [profile]");
  auto section = &caf::get<caf::settings>(i_section->second);
  for (auto& kvp : *section)
    if (known.count(kvp.first) == 0)
      return invalid(origin, "unknown key profile." + kvp.first);
  profile result;
  auto get_int = [&](const char* key, auto& out) -> caf::error {
    auto i = section->find(key);
    if (i == section->end())
      return caf::none;
    auto v = caf::get_if<int64_t>(&i->second);
    if (!v)
      return invalid(origin,
                     std::string{"profile."} + key + " must be an integer");
    out = static_cast<std::decay_t<decltype(out)>>(*v);
    return caf::none;
  };
  auto i_name = section->find("name");
  if (i_name == section->end()
      || !caf::holds_alternative<std::string>(i_name->second))
    return invalid(origin, "profile.name missing or not a string");
  result.name = caf::get<std::string>(i_name->second);
  for (auto err :
       {get_int("min-rate", result.min_rate), get_int("floor", result.floor),
        get_int("scan-pages", result.scan_pages),
        get_int("peek-batch", result.peek_batch),
        get_int("commit-batch", result.commit_batch),
        get_int("update-batch", result.update_batch),
        get_int("peek-offers", result.peek_offers),
        get_int("commit-offers", result.commit_offers)})
    if (err)
      return err;
  if (auto i = section->find("updater-share"); i != section->end()) {
    if (auto d = caf::get_if<double>(&i->second))
      result.updater_share = *d;
    else if (auto n = caf::get_if<int64_t>(&i->second))
      result.updater_share = static_cast<double>(*n);
    else
      return invalid(origin, "profile.updater-share must be a number");
  }
  if (auto i = section->find("priority"); i != section->end()) {
    auto names = caf::get_if<std::vector<std::string>>(&i->second);
    if (!names)
      return invalid(origin, "profile.priority must be a list of strings");
    result.priority.clear();
    for (auto& n : *names) {
      stage s;
      if (!from_string(n, s))
        return invalid(origin, "unknown stage \"" + n + "\" in priority");
      result.priority.push_back(s);
    }
  }
  if (auto err = validate(result))
    return err;
  return result;
}

caf::expected<std::vector<profile>> load_profiles(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code err;
  if (!fs::is_directory(dir, err))
    return invalid(dir, "profiles directory not found");
  std::vector<fs::path> files;
  for (auto& entry : fs::directory_iterator(dir, err))
    if (entry.path().extension() == ".ini")
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  std::vector<profile> result;
  for (auto& file : files) {
    auto parsed
      = caf::actor_system_config::parse_config_file(file.string().c_str());
    if (!parsed)
      return invalid(file.string(),
                     caf::actor_system_config::render(parsed.error()));
    auto p = profile_from(*parsed, file.string());
    if (!p)
      return p.error();
    if (find_profile(result, p->name))
      return invalid(file.string(), "duplicate profile name " + p->name);
    result.push_back(std::move(*p));
  }
  if (result.empty())
    return invalid(dir, "no profiles (*.ini) found");
  std::sort(result.begin(), result.end(),
            [](const profile& x, const profile& y) {
              return x.min_rate < y.min_rate;
            });
  return result;
}

const profile* select_profile(const std::vector<profile>& xs, int64_t rate) {
  const profile* result = nullptr;
  for (auto& x : xs)
    if (x.min_rate <= rate)
      result = &x;
  return result ? result : (xs.empty() ? nullptr : &xs.front());
}

const profile* find_profile(const std::vector<profile>& xs,
                            const std::string& name) {
  for (auto& x : xs)
    if (x.name == name)
      return &x;
  return nullptr;
}

} // namespace keepa
