#include "config/pipeline_config.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iostream>

#include <caf/config_option_adder.hpp>
#include <caf/config_option_set.hpp>
#include <caf/settings.hpp>
#include <caf/timespan.hpp>

#include "config/defaults.hpp"
#include "config/options.hpp"
#include "messages/error.hpp"
#include "messages/fwd.hpp"

namespace keepa {

std::string default_profiles_dir() {
  return defaults::profiles_dir();
}

pipeline_config::pipeline_config() {
  keepa::add_message_types(*this);
  add_keepa_options(custom_options_);
  // Our defaults for CAF's scheduler; the config file and --scheduler.*
  // override them (parse() only replaces what they name).
  set("scheduler.policy", caf::atom(defaults::scheduler::policy));
  set("scheduler.max-threads", defaults::scheduler::max_threads);
}

caf::config_option_adder pipeline_config::add_group(const char* category,
                                                    const char*) {
  own_groups_.emplace_back(category);
  return opt_group{custom_options_, category};
}

std::string pipeline_config::help_text() const {
  auto shown = [this](const std::string& category) {
    return category == "global" || category == "keepa"
      || category.compare(0, 6, "keepa.") == 0
      || std::find(own_groups_.begin(), own_groups_.end(), category)
      != own_groups_.end();
  };
  caf::config_option_set xs;
  for (auto& opt : custom_options_) {
    auto category = opt.category();
    if (shown(std::string{category.begin(), category.end()}))
      xs.add(opt);
  }
  return xs.help_text(false);
}

namespace {

/// Whether the command line asks for the short help (CAF's -h, -? or
/// --help) and not for --long-help.
bool wants_help(int argc, char** argv) {
  bool help = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--long-help") == 0)
      return false;
    if (std::strcmp(argv[i], "-h") == 0 || std::strcmp(argv[i], "-?") == 0
        || std::strcmp(argv[i], "--help") == 0)
      help = true;
  }
  return help;
}

/// `text` with every command-line value of `argv` replaced: an option error
/// must not echo a value (it may be the API key, or a password in a URL).
std::string redact_arguments(std::string text, int argc, char** argv) {
  auto replace_all = [&](const std::string& needle, const std::string& with) {
    if (needle.empty())
      return;
    for (auto pos = text.find(needle); pos != std::string::npos;
         pos = text.find(needle, pos + with.size()))
      text.replace(pos, needle.size(), with);
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto eq = arg.find('=');
    if (arg.compare(0, 1, "-") == 0 && eq == std::string::npos)
      continue; // a flag or a name without value
    auto shown = eq == std::string::npos ? std::string{"<value>"}
                                         : arg.substr(0, eq) + "=<value>";
    replace_all(arg, shown);
    if (eq != std::string::npos)
      replace_all(arg.substr(eq + 1), "<value>");
  }
  return text;
}

/// The config file CAF read, or empty when there was none.
std::string config_file_of(const caf::settings& content,
                           const std::string& default_path) {
  if (auto x = caf::get_if<std::string>(&content, "config-file"))
    return *x;
  std::error_code ec;
  if (!default_path.empty() && std::filesystem::exists(default_path, ec))
    return default_path;
  return {};
}

/// Checks every key of `xs` (read from `file`, below `category`) against the
/// registered options: CAF 0.17 drops unknown keys and values of the wrong
/// type silently. Messages name the key, never its value.
caf::error check_keys(const caf::config_option_set& opts,
                      const caf::settings& xs, const std::string& category,
                      const std::string& file) {
  for (auto& [name, value] : xs) {
    auto full = category.empty() ? name : category + "." + name;
    if (auto dict = caf::get_if<caf::settings>(&value)) {
      if (auto err = check_keys(opts, *dict, full, file))
        return err;
      continue;
    }
    auto opt = opts.qualified_name_lookup(
      category.empty() ? "global" : category, name);
    if (opt == nullptr)
      return caf::make_error(ec::invalid_config,
                             "unknown key " + full + " in " + file
                               + " (no such option; --long-help lists them)");
    if (opt->check(value))
      return caf::make_error(
        ec::invalid_config,
        "wrong type for " + full + " in " + file + " (expected "
          + std::string{opt->type_name().begin(), opt->type_name().end()}
          + "; value not shown)");
  }
  return caf::none;
}

/// Values CAF accepts that the programs cannot run with.
caf::error check_values(const caf::settings& content) {
  auto bad = [](std::string what) {
    return caf::make_error(ec::invalid_config, std::move(what));
  };
  if (caf::get_or(content, "keepa.run-for", caf::timespan{defaults::run_for})
        .count()
      < 0)
    return bad("keepa.run-for must not be negative (0s = never stop)");
  if (caf::get_or(content, "keepa.status-every",
                  caf::timespan{defaults::status_every})
        .count()
      <= 0)
    return bad("keepa.status-every must be positive");
  if (auto n = caf::get_if<size_t>(&content, "scheduler.max-threads");
      n && *n == 0)
    return bad("scheduler.max-threads must be at least 1");
  return caf::none;
}

} // namespace

caf::error pipeline_config::load(int argc, char** argv) {
  if (wants_help(argc, argv)) {
    // Where CAF prints its help text.
    std::cout << help_text() << std::endl;
    cli_helptext_printed = true;
    return caf::none;
  }
  if (auto err = parse(argc, argv))
    return caf::make_error(ec::invalid_config,
                           redact_arguments(render(err), argc, argv));
  if (cli_helptext_printed)
    return caf::none;
  if (!remainder.empty())
    return caf::make_error(ec::invalid_config,
                           "unknown argument: "
                             + redact_arguments(remainder.front(), argc, argv));
  if (auto file = config_file_of(content, config_file_path); !file.empty()) {
    auto raw = parse_config_file(file.c_str());
    if (!raw)
      return caf::make_error(ec::invalid_config,
                             "cannot read config file " + file);
    if (auto err = check_keys(custom_options_, *raw, "", file))
      return err;
  }
  if (auto err = check_values(content))
    return err;
  return load_profiles(*this);
}

caf::error load_profiles(pipeline_config& cfg) {
  auto dir = caf::get_or(cfg, "keepa.profiles-dir", default_profiles_dir());
  auto xs = load_profiles(dir);
  if (!xs)
    return xs.error();
  cfg.profiles = std::move(*xs);
  auto name = caf::get_or(cfg, "keepa.profile", std::string{defaults::profile});
  if (name != "auto" && !find_profile(cfg.profiles, name))
    return caf::make_error(ec::unknown_profile,
                           "no profile named \"" + name + "\" in " + dir);
  return caf::none;
}

caf::settings pipeline_config::dump_content() const {
  auto result = actor_system_config::dump_content();
  auto& keepa = result["keepa"].as_dictionary();
  keepa.emplace("profile",
                caf::get_or(content, "keepa.profile",
                            std::string{defaults::profile}));
  auto dir = caf::get_or(content, "keepa.profiles-dir", default_profiles_dir());
  keepa.emplace("profiles-dir", dir);
  auto xs = keepa::load_profiles(dir);
  if (!xs)
    return result;
  caf::settings profiles;
  for (auto& p : *xs) {
    caf::settings entry;
    entry.emplace("min-rate", p.min_rate);
    entry.emplace("floor", p.floor);
    entry.emplace("scan-pages", p.scan_pages);
    entry.emplace("peek-batch", p.peek_batch);
    entry.emplace("commit-batch", p.commit_batch);
    entry.emplace("update-batch", p.update_batch);
    std::vector<std::string> order;
    for (auto s : p.priority)
      order.emplace_back(to_string(s));
    entry.emplace("priority", order);
    entry.emplace("updater-share", p.updater_share);
    entry.emplace("peek-offers", p.peek_offers);
    entry.emplace("commit-offers", p.commit_offers);
    profiles.emplace(p.name, std::move(entry));
  }
  keepa.emplace("profiles", std::move(profiles));
  return result;
}

} // namespace keepa
