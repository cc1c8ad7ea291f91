#include "config/cli.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/config_option.hpp>
#include <caf/config_option_adder.hpp>
#include <caf/config_option_set.hpp>
#include <caf/config_value.hpp>
#include <caf/pec.hpp>
#include <caf/sec.hpp>

#include "config/option_adder.hpp"
#include "config/version.hpp"
#include "messages/error.hpp"

namespace keepa {

namespace {

std::string str(caf::string_view x) {
  return {x.begin(), x.end()};
}

/// "keepa.scan.interval"; a global option by its name alone ("config-file").
std::string full_name(const caf::config_option& opt) {
  auto category = str(opt.category());
  auto name = str(opt.long_name());
  return category == "global" ? name : category + "." + name;
}

const caf::config_option* lookup(const caf::config_option_set& opts,
                                 const std::string& name) {
  auto dot = name.rfind('.');
  if (dot == std::string::npos)
    return opts.qualified_name_lookup("global", name);
  return opts.qualified_name_lookup(name.substr(0, dot), name.substr(dot + 1));
}

bool is_secret(const cli_program& p, const std::string& name) {
  return std::find(p.secrets.begin(), p.secrets.end(), name) != p.secrets.end();
}

/// The options that act instead of configuring.
bool is_action(const std::string& name) {
  return name == "help" || name == "long-help" || name == "dump-config"
    || name == "version" || name == "config-file";
}

// -- rendering values ---------------------------------------------------------

/// In the largest unit that holds it exactly (CAF parses whole numbers only).
std::string duration_text(caf::timespan x) {
  return value_text(x);
}

/// The shortest text that reads back as `x`; with `as_real`, one that a
/// config file reads as a real number, not an integer ("15.0").
std::string real_text(double x, bool as_real) {
  char buf[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, x);
    if (std::strtod(buf, nullptr) == x)
      break;
  }
  std::string result = buf;
  if (as_real && result.find_first_of(".eIN") == std::string::npos
      && result.find("in") == std::string::npos)
    result += ".0";
  return result;
}

/// As one would type it on the command line ("none" for an empty string).
std::string cli_text(const caf::config_value& x) {
  auto& v = x.get_data();
  if (auto s = caf::get_if<std::string>(&v))
    return s->empty() ? "none" : *s;
  if (auto a = caf::get_if<caf::atom_value>(&v))
    return to_string(*a);
  if (auto t = caf::get_if<caf::timespan>(&v))
    return duration_text(*t);
  if (auto d = caf::get_if<double>(&v))
    return real_text(*d, false);
  if (auto xs = caf::get_if<caf::config_value::list>(&v)) {
    std::string out = "[";
    for (auto& y : *xs)
      out += (out.size() > 1 ? ", " : "") + cli_text(y);
    return out + "]";
  }
  return caf::to_string(x);
}

/// `x` with a password masked: "scheme://user:PASSWORD@..." and libpq's
/// "password=PASSWORD".
std::string without_password(std::string x) {
  auto mask = [&](size_t from, size_t to) {
    if (to > from)
      x.replace(from, to - from, "<password>");
  };
  if (auto scheme = x.find("://"); scheme != std::string::npos) {
    auto at = x.find('@', scheme + 3);
    auto colon = x.find(':', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at)
      mask(colon + 1, at);
  }
  if (auto key = x.find("password="); key != std::string::npos)
    mask(key + 9, std::min(x.find(' ', key), x.size()));
  return x;
}

/// As a config file writes it.
std::string ini_text(const caf::config_value& x) {
  auto& v = x.get_data();
  if (auto t = caf::get_if<caf::timespan>(&v))
    return duration_text(*t);
  if (auto d = caf::get_if<double>(&v))
    return real_text(*d, true);
  if (auto xs = caf::get_if<caf::config_value::list>(&v)) {
    std::string out = "[";
    for (auto& y : *xs)
      out += (out.size() > 1 ? ", " : "") + ini_text(y);
    return out + "]";
  }
  if (auto m = caf::get_if<caf::config_value::dictionary>(&v)) {
    std::string out = "{";
    for (auto& [key, y] : *m)
      out += (out.size() > 1 ? ", " : "") + key + " = " + ini_text(y);
    return out + "}";
  }
  if (auto s = caf::get_if<std::string>(&v))
    return caf::to_string(caf::config_value{without_password(*s)});
  // Atoms in single quotes, numbers, booleans.
  return caf::to_string(x);
}

/// `x` with every value of `fallback` it lacks.
caf::settings merged(caf::settings x, const caf::settings& fallback) {
  for (auto& [key, value] : fallback) {
    auto i = x.find(key);
    if (i == x.end()) {
      x.emplace(key, value);
    } else if (auto sub = caf::get_if<caf::settings>(&value)) {
      if (auto own = caf::get_if<caf::settings>(&i->second))
        i->second = merged(*own, *sub);
    }
  }
  return x;
}

// -- help ---------------------------------------------------------------------

/// Clearer words for CAF's own global options (which print to stdout).
std::string description_of(const caf::config_option& opt) {
  auto name = full_name(opt);
  if (name == "help")
    return "print this help and exit";
  if (name == "long-help")
    return "print the help with CAF's own options too, and exit";
  if (name == "dump-config")
    return "print every setting in force as a config file and exit";
  if (name == "config-file")
    return "read options from this file (default caf-application.ini)";
  return str(opt.description());
}

std::string left_side(const caf::config_option& opt) {
  std::string result = "--" + full_name(opt);
  auto shorts = opt.short_names();
  if (!shorts.empty()) {
    std::string alts = "(";
    for (auto c : shorts)
      alts += std::string{"-"} + c + "|";
    result = alts + result + ")";
  }
  if (!opt.is_flag())
    result += "=<" + str(opt.type_name()) + ">";
  return result;
}

// -- errors -------------------------------------------------------------------

/// What an option of this type takes, in words.
std::string expected_of(const caf::config_option& opt) {
  auto type = str(opt.type_name());
  if (type.compare(0, 3, "int") == 0)
    return str(opt.description()).find("cents") != std::string::npos
      ? "whole cents"
      : "a whole number";
  if (type == "uint16")
    return "a whole number from 0 to 65535";
  if (type.compare(0, 4, "uint") == 0)
    return "a whole number from 0";
  if (type.compare(0, 4, "real") == 0)
    return "a number (such as 0.25)";
  if (type == "timespan")
    return "a duration with a unit (ns, us, ms, s, min or h), such as 30s or "
           "5min";
  if (type == "boolean")
    return "true or false";
  if (type == "atom")
    return "a word";
  if (type.compare(0, 7, "list of") == 0)
    return "a list such as [1, 2]";
  return "a " + type;
}

/// `x` in double quotes, control characters escaped, at most 60 bytes.
std::string quoted(const std::string& x) {
  std::string out = "\"";
  for (auto c : x.substr(0, 60)) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + (x.size() > 60 ? "...\"" : "\"");
}

/// The argument CAF names in the context of its parser errors.
std::string argument_of(const caf::error& err) {
  auto& ctx = err.context();
  if (ctx.size() != 1)
    return {};
  if (ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  if (ctx.match_element<caf::settings>(0))
    return caf::get_or(ctx.get_as<caf::settings>(0), "argument", std::string{});
  return {};
}

} // namespace

std::string version_text(const std::string& program) {
  std::string result = program + " " + version::number;
  if (*version::commit != '\0')
    result += std::string{" (git "} + version::commit + ")";
  return result;
}

void add_cli_options(caf::config_option_set& opts) {
  caf::config_option_adder{opts, "global"}.add<bool>(
    "version", "print the program's name and version and exit");
}

std::string help_text(const caf::config_option_set& opts,
                      const caf::settings& defaults, const cli_program& p,
                      bool long_help) {
  auto shown = [&](const std::string& category) {
    if (long_help || category == "global")
      return true;
    for (auto& group : p.groups)
      if (category == group
          || category.compare(0, group.size() + 1, group + ".") == 0)
        return true;
    return false;
  };
  // Groups in the order they were registered, the global one first.
  std::vector<std::string> order{"global"};
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> lines;
  for (auto& opt : opts) {
    auto category = str(opt.category());
    if (!shown(category))
      continue;
    if (std::find(order.begin(), order.end(), category) == order.end())
      order.push_back(category);
    auto text = description_of(opt);
    auto name = full_name(opt);
    if (text.find("(default") == std::string::npos && !is_action(name))
      if (auto x = caf::get_if(&defaults, name))
        text += " (default " + cli_text(*x) + ")";
    lines[category].emplace_back(left_side(opt), std::move(text));
  }
  std::string out = "Usage: " + p.name + " [OPTIONS]\n";
  if (!p.summary.empty())
    out += p.summary + "\n";
  if (!long_help)
    out += "(--long-help adds CAF's own options)\n";
  for (auto& category : order) {
    auto& xs = lines[category];
    if (xs.empty())
      continue;
    size_t width = 0;
    for (auto& x : xs)
      width = std::max(width, x.first.size());
    out += "\n" + category + " options:\n";
    for (auto& [lhs, text] : xs)
      out += "  " + lhs + std::string(width - lhs.size(), ' ') + " : " + text
        + "\n";
  }
  return out;
}

std::string describe_option_error(const caf::error& err,
                                  const caf::config_option_set& opts,
                                  const cli_program& p) {
  if (err.category() == caf::atom("system")
      && err.code() == static_cast<uint8_t>(caf::sec::cannot_open_file))
    return "cannot open the config file " + argument_of(err);
  if (err.category() != caf::atom("parser"))
    return render(err);
  auto code = static_cast<caf::pec>(err.code());
  auto arg = argument_of(err);
  if (arg.empty()) {
    // A config file: CAF names the line and column.
    auto& ctx = err.context();
    std::string where;
    if (ctx.size() == 1 && ctx.match_element<caf::settings>(0)) {
      auto& xs = ctx.get_as<caf::settings>(0);
      where = " at line " + std::to_string(caf::get_or(xs, "line", int64_t{0}))
        + ", column " + std::to_string(caf::get_or(xs, "column", int64_t{0}));
    }
    return "cannot read the config file: " + to_string(code) + where;
  }
  auto eq = arg.find('=');
  auto given = arg.substr(0, eq);
  auto name = given.compare(0, 2, "--") == 0 ? given.substr(2) : given;
  auto opt = given.compare(0, 2, "--") == 0 ? lookup(opts, name) : nullptr;
  if (opt == nullptr)
    return given + ": no such option (--help lists them)";
  if (opt->is_flag())
    // CAF 0.17 sets a flag on the command line but cannot clear it there.
    return given + ": a flag takes no value (" + given
      + " alone turns it on; a config file turns it off: ["
      + str(opt->category()) + "] " + str(opt->long_name()) + " = false)";
  if (code == caf::pec::not_an_option)
    return given + ": not understood (--help lists the options)";
  auto expected = given + ": expected " + expected_of(*opt);
  if (eq == std::string::npos)
    return expected + " after '=' (" + given + "=VALUE)";
  if (is_secret(p, name))
    return expected + " (the value is not shown)";
  return expected + ", got " + quoted(arg.substr(eq + 1));
}

caf::error check_config_file(const caf::config_option_set& opts,
                             const std::string& file) {
  auto raw = caf::actor_system_config::parse_config_file(file.c_str());
  if (!raw)
    return caf::make_error(ec::invalid_config,
                           "cannot read the config file " + file);
  // CAF 0.17 drops unknown keys and values of the wrong type silently.
  // Messages name the key, never its value.
  auto check = [&](auto& self, const caf::settings& xs,
                   const std::string& category) -> caf::error {
    for (auto& [name, value] : xs) {
      auto full = category.empty() ? name : category + "." + name;
      if (auto dict = caf::get_if<caf::settings>(&value)) {
        if (auto err = self(self, *dict, full))
          return err;
        continue;
      }
      auto opt = opts.qualified_name_lookup(
        category.empty() ? "global" : category, name);
      if (opt == nullptr)
        return caf::make_error(ec::invalid_config,
                               "unknown key " + full + " in " + file
                                 + " (no such option; --long-help lists "
                                   "them)");
      if (opt->check(value))
        return caf::make_error(ec::invalid_config,
                               "wrong type for " + full + " in " + file
                                 + " (expected " + expected_of(*opt)
                                 + "; value not shown)");
    }
    return caf::none;
  };
  return check(check, *raw, "");
}

std::string dump_config(const caf::settings& effective,
                        const caf::config_option_set& opts,
                        const cli_program& p) {
  std::vector<std::string> order;
  std::map<std::string, std::string> sections;
  for (auto& opt : opts) {
    auto name = full_name(opt);
    if (is_action(name))
      continue;
    auto category = str(opt.category());
    if (std::find(order.begin(), order.end(), category) == order.end())
      order.push_back(category);
    auto& out = sections[category];
    auto key = str(opt.long_name());
    auto x = caf::get_if(&effective, name);
    if (x == nullptr)
      out += "; " + key + " = (not set; " + str(opt.description()) + ")\n";
    else if (is_secret(p, name))
      out += "; " + key + " = (set, not shown; give it again)\n";
    else if (opt.check(*x))
      // CAF's own defaults include values its options refuse (a size_t of
      // -1 for "no limit"): left at the default.
      out += "; " + key + " = " + ini_text(*x) + " (the default)\n";
    else
      out += key + " = " + ini_text(*x) + "\n";
  }
  std::string out = "; " + version_text(p.name)
    + ": every setting in force (--config-file=FILE reads "
      "it back)\n";
  for (auto& category : order)
    out += "\n[" + category + "]\n" + sections[category];
  // What is not an option (the loaded profiles, say), for reference.
  std::string rest;
  auto others = [&](auto& self, const caf::settings& xs,
                    const std::string& prefix) -> void {
    for (auto& [key, value] : xs) {
      auto name = prefix.empty() ? key : prefix + "." + key;
      if (auto dict = caf::get_if<caf::settings>(&value)) {
        if (lookup(opts, name) == nullptr)
          self(self, *dict, name);
        continue;
      }
      if (lookup(opts, name) == nullptr && !is_action(name))
        rest += "; " + name + " = " + ini_text(value) + "\n";
    }
  };
  others(others, effective, "");
  if (!rest.empty())
    out += "\n; not options (for reference):\n" + rest;
  return out;
}

caf::error parse_command_line(caf::actor_system_config& cfg,
                              const caf::config_option_set& opts, int argc,
                              char** argv, cli_program p) {
  if (p.name.empty())
    p.name = argc > 0 ? std::filesystem::path{argv[0]}.filename().string()
                      : std::string{"keepa"};
  std::vector<std::string> args;
  bool help = false;
  bool long_help = false;
  bool version = false;
  bool dump = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "-?" || arg == "--help")
      help = true;
    else if (arg == "--long-help")
      long_help = true;
    else if (arg == "--version")
      version = true;
    else if (arg == "--dump-config")
      dump = true;
    else
      args.push_back(std::move(arg));
  }
  if (version) {
    std::cout << version_text(p.name) << std::endl;
    cfg.cli_helptext_printed = true;
    return caf::none;
  }
  if (help || long_help) {
    std::cout << help_text(opts, merged(cfg.dump_content(), p.defaults), p,
                           long_help)
              << std::flush;
    cfg.cli_helptext_printed = true;
    return caf::none;
  }
  if (auto err = cfg.parse(std::move(args)))
    return caf::make_error(ec::invalid_config,
                           describe_option_error(err, opts, p));
  if (!cfg.remainder.empty())
    // Not echoed: it may be a secret given as `--name VALUE`.
    return caf::make_error(ec::invalid_config,
                           "unexpected argument (options are --NAME=VALUE; "
                           "--help lists them)");
  auto file = caf::get_if<std::string>(&cfg.content, "config-file");
  std::error_code ec;
  if (file || std::filesystem::exists(cfg.config_file_path, ec)) {
    auto path = file ? *file : cfg.config_file_path;
    if (auto err = check_config_file(opts, path))
      return err;
  }
  if (dump) {
    std::cout << dump_config(merged(cfg.dump_content(), p.defaults), opts, p)
              << std::flush;
    cfg.cli_helptext_printed = true;
  }
  return caf::none;
}

std::string plain_words(const caf::error& err) {
  if (err == ec::invalid_config && err.context().size() == 1
      && err.context().match_element<std::string>(0))
    return err.context().get_as<std::string>(0);
  return render(err);
}

std::optional<int> positional_cli(int argc, char** argv,
                                  const std::string& usage) {
  auto name = argc > 0 ? std::filesystem::path{argv[0]}.filename().string()
                       : std::string{"keepa"};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--version") {
      std::cout << version_text(name) << std::endl;
      return 0;
    }
    if (arg == "-h" || arg == "-?" || arg == "--help" || arg == "--long-help") {
      std::cout << "Usage: " << usage
                << "\n\nglobal options:\n"
                   "  (-h|-?|--help) : print this help and exit\n"
                   "  --version      : print the program's name and version "
                   "and exit\n";
      return 0;
    }
  }
  return std::nullopt;
}

} // namespace keepa
